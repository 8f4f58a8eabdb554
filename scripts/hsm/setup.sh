#!/bin/sh
# Set up the PKCS#11 test environment for eseal's signer/pkcs11 tests.
#
#   scripts/hsm/setup.sh DIR        (idempotent; DIR is created if missing)
#   eval "$(scripts/hsm/setup.sh DIR)"
#
# In DIR it writes a SoftHSM2 config and token store, initialises a token,
# builds the SM2 *test* token module (scripts/hsm/eseal-test-sm2-token.c,
# for tests only) and prints `export VAR=...` lines on stdout. Everything
# else goes to stderr. PINs are random on first run and kept in DIR/pins.env
# (mode 0600) so that later runs print the same ones.
#
# Needs the Debian packages softhsm2, libssl-dev, gcc (and Go, to find the
# PKCS#11 headers shipped with github.com/miekg/pkcs11).
set -eu

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
dir=$(cd "$1" && pwd)
chmod 700 "$dir"
umask 077

die() { echo "setup.sh: $*" >&2; exit 1; }

# --- SoftHSM2 --------------------------------------------------------------
module=""
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
	/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
	if [ -f "$m" ]; then module=$m; break; fi
done
[ -n "$module" ] || die "SoftHSM2 module not found (apt-get install -y softhsm2)"
command -v softhsm2-util >/dev/null 2>&1 || die "softhsm2-util not found (apt-get install -y softhsm2)"

if [ ! -f "$dir/pins.env" ]; then
	rnd() { od -An -N4 -tu4 /dev/urandom | tr -d ' \n'; }
	{
		echo "ESEAL_SOFTHSM_PIN=$(rnd)"
		echo "ESEAL_SOFTHSM_SO_PIN=$(rnd)$(rnd)"
		echo "ESEAL_SM2_TOKEN_PIN=$(rnd)"
	} >"$dir/pins.env"
	chmod 600 "$dir/pins.env"
fi
. "$dir/pins.env"

label=eseal-test
mkdir -p "$dir/softhsm/tokens"
conf="$dir/softhsm/softhsm2.conf"
cat >"$conf" <<CONF
directories.tokendir = $dir/softhsm/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
export SOFTHSM2_CONF="$conf"
if ! softhsm2-util --show-slots 2>/dev/null | grep -q "Label:[[:space:]]*$label[[:space:]]*\$"; then
	softhsm2-util --init-token --free --label "$label" \
		--so-pin "$ESEAL_SOFTHSM_SO_PIN" --pin "$ESEAL_SOFTHSM_PIN" >&2 \
		|| die "softhsm2-util --init-token failed"
fi

# --- SM2 test token (C, OpenSSL 3) ------------------------------------------
command -v gcc >/dev/null 2>&1 || die "gcc not found (apt-get install -y gcc)"
[ -f /usr/include/openssl/evp.h ] || die "OpenSSL headers not found (apt-get install -y libssl-dev)"
inc=""
if command -v go >/dev/null 2>&1; then
	inc=$(cd "$here" && go list -m -f '{{.Dir}}' github.com/miekg/pkcs11 2>/dev/null || true)
fi
[ -n "$inc" ] && [ -f "$inc/pkcs11.h" ] || die "PKCS#11 headers not found: run 'go mod download github.com/miekg/pkcs11' in the repository"
src="$here/eseal-test-sm2-token.c"
so="$dir/libeseal-test-sm2-token.so"
if [ ! -f "$so" ] || [ "$src" -nt "$so" ]; then
	gcc -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared -I"$inc" \
		-o "$so.tmp" "$src" -lcrypto -lpthread || die "building the SM2 test token failed"
	mv -f "$so.tmp" "$so"
fi
mkdir -p "$dir/sm2token"

q() { printf "'%s'" "$(printf %s "$1" | sed "s/'/'\\\\''/g")"; }
echo "export SOFTHSM2_CONF=$(q "$conf")"
echo "export ESEAL_SOFTHSM_MODULE=$(q "$module")"
echo "export ESEAL_SOFTHSM_TOKEN=$(q "$label")"
echo "export ESEAL_SOFTHSM_PIN=$(q "$ESEAL_SOFTHSM_PIN")"
echo "export ESEAL_SOFTHSM_SO_PIN=$(q "$ESEAL_SOFTHSM_SO_PIN")"
echo "export ESEAL_SM2_TOKEN_MODULE=$(q "$so")"
echo "export ESEAL_SM2_TOKEN_LABEL=$(q eseal-sm2-test)"
echo "export ESEAL_SM2_TOKEN_PIN=$(q "$ESEAL_SM2_TOKEN_PIN")"
echo "export ESEAL_SM2_TOKEN_DIR=$(q "$dir/sm2token")"
echo "export ESEAL_PKCS11_REQUIRED=1"
