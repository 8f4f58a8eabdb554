# eseal: build, check and test.
#
#   make test    what CI runs: gofmt, go vet, a short run of every fuzz target, the race
#                detector on the concurrent packages, the build without cgo, and every test
#                (with the PKCS#11 tokens set up)
#   make bench   the benchmarks, each beside the raw primitive it is measured against

GO       ?= go
FUZZTIME ?= 10s
HSMDIR   ?= $(CURDIR)/.tmp/hsm
RACEPKGS ?= ./verifier/... ./store/... ./signer/... ./pki/... ./ofd/... ./sealimg/...

.PHONY: all build fmt vet test unit race fuzz bench clean

all: build test

build:
	$(GO) build -o eseal ./cmd/eseal

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: fmt
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet ./signer/...

# The PKCS#11 tests need SoftHSM2 and the SM2 test token; scripts/hsm/setup.sh makes both in
# $(HSMDIR) and prints the variables that point the tests at them (and make a missing module
# a failure, not a skip).
test: vet
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
