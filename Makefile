# eseal: build, check and test.
#
#   make test    what CI runs: gofmt, go vet, staticcheck, govulncheck, a short run of every
#                fuzz target, the race detector on the concurrent packages, the build without
#                cgo, and every test (with the PKCS#11 tokens set up)
#   make lint    staticcheck alone
#   make vulncheck  govulncheck alone (scripts/govulncheck.sh: the database comes from the
#                Go module proxy, so vuln.go.dev need not be reachable)
#   make bench   the benchmarks, each beside the raw primitive it is measured against

GO       ?= go
# The Go toolchain for every step: a Go 1.26 patch release in which govulncheck finds no known
# vulnerability of the standard library that the code reaches. The go command fetches it through
# the module proxy when the installed Go differs; GOTOOLCHAIN=local make ... keeps the installed one.
export GOTOOLCHAIN ?= go1.26.11
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME ?= 10s
HSMDIR   ?= $(CURDIR)/.tmp/hsm
RACEPKGS ?= ./verifier/... ./ses/... ./store/... ./signer/... ./pki/... ./ofd/... ./sealimg/... ./audit/... ./backup/... ./errs/... ./registry/... ./cache/... ./trust/... ./revocation/... ./internal/genmemo/... ./internal/ofdrender/... ./bench/...

.PHONY: all build fmt vet lint vulncheck test unit race fuzz bench clean

all: build test

build:
	$(GO) build -o eseal ./cmd/eseal

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: fmt
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet ./signer/...

# staticcheck's default checks on the default (cgo) build.
lint:
	$(GO) run $(STATICCHECK) ./...

vulncheck:
	GO=$(GO) scripts/govulncheck.sh

# The PKCS#11 tests need SoftHSM2 and the SM2 test token; scripts/hsm/setup.sh makes both in
# $(HSMDIR) and prints the variables that point the tests at them (and make a missing module
# a failure, not a skip).
test: vet lint vulncheck
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh
	@set -e; hsm=$$(scripts/hsm/setup.sh $(HSMDIR)); eval "$$hsm"; export ESEAL_PKCS11_REQUIRED=1; \
	$(GO) test -count=1 -race $(RACEPKGS); \
	CGO_ENABLED=0 $(GO) test -count=1 ./signer/...; \
	$(GO) test -count=1 ./...

unit:
	$(GO) test ./...

race:
	$(GO) test -race $(RACEPKGS)

fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

bench:
	@set -e; hsm=$$(scripts/hsm/setup.sh $(HSMDIR)); eval "$$hsm"; \
	$(GO) test -run '^$$' -bench . -benchtime 1s ./...

clean:
	rm -rf eseal .tmp
