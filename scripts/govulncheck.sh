#!/usr/bin/env bash
# Runs govulncheck over the module against the Go vulnerability database, taken from the Go
# module proxy rather than from vuln.go.dev: the golang.org/x/vulndb module holds every entry
# as OSV JSON under data/osv, and govulncheck reads such a directory with -db file://.
#
#   GOVULNCHECK_VERSION  the govulncheck release (default below)
#   VULNDB_VERSION       the golang.org/x/vulndb version; "latest" (the default) is the newest
#                        snapshot on the proxy, so new advisories show up without a change here
#
# It exits non-zero when the code calls a vulnerable function, in a module or in the standard
# library of the Go toolchain in use (the Makefile pins a patched one).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
govulncheck=golang.org/x/vuln/cmd/govulncheck@${GOVULNCHECK_VERSION:-v1.9.0}
vulndb=golang.org/x/vulndb@${VULNDB_VERSION:-latest}

# Download outside the module so that its go.mod and go.sum stay untouched.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
info=$(cd "$tmp" && "$GO" mod download -json "$vulndb")
dir=$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
version=$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Version": "\(.*\)",\{0,1\}$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir/data/osv" ]; then
	echo "govulncheck: no data/osv in $vulndb:" >&2
	printf '%s\n' "$info" >&2
	exit 1
fi
echo "govulncheck: $("$GO" version | cut -d' ' -f3), database golang.org/x/vulndb@$version ($(ls "$dir/data/osv" | wc -l) entries)"
"$GO" run "$govulncheck" -db "file://$dir/data/osv" ./...
