package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/trust"
)

// TestVerifyTrustSet: the sample verifies under a trust set kept in the store, named on the
// command line, and not under a set that lacks its root; an unknown set is a usage error.
func TestVerifyTrustSet(t *testing.T) {
	const dir = "../../testdata/sample/"
	data := filepath.Join(t.TempDir(), "data")
	db, err := store.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := trust.Open(context.Background(), store.MustSpace(db, trust.SpaceName), trust.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sets.LoadFiles(context.Background(), "sample", dir+"root.pem", "", dir+"maker.pem"); err != nil {
		t.Fatal(err)
	}
	if _, err := sets.LoadFiles(context.Background(), "rootless", dir+"maker.pem", "", ""); err == nil {
		t.Fatal("a set whose root is a seal maker's certificate was taken")
	}
	db.Close()

	code, out, errs := runCLI("verify", "--store", data, "--trust-set", "sample", "--crl", dir+"crl.der", "--data", dir+"Signature.xml", dir+"SignedValue.dat")
	if code != exitOK || !strings.Contains(out, "TOTAL_PASSED") {
		t.Fatalf("under the sample set: exit %d\n%s%s", code, out, errs)
	}
	for _, args := range [][]string{
		{"--store", data, "--trust-set", "no-such-set"},
		{"--trust-set", "sample"},
		{"--store", data, "--trust-set", "sample", "--trust", dir + "root.pem"},
	} {
		code, _, errs := runCLI(append(append([]string{"verify"}, args...), dir+"SignedValue.dat")...)
		if code != exitUsage || errs == "" {
			t.Fatalf("%v: exit %d, %q", args, code, errs)
		}
	}
}

// TestVerifyFetchCRL: with --fetch-crl the CRL is sought at the distribution point the
// sample's certificates name (a host that does not exist here): the revocation check is
// indeterminate and says so, never passed; a CRL given beside it is still used.
func TestVerifyFetchCRL(t *testing.T) {
	const dir = "../../testdata/sample/"
	code, out, errs := runCLI("verify", "--fetch-crl", "--crl-timeout", "2s", "--trust", dir+"root.pem", "--maker", dir+"maker.pem",
		"--data", dir+"Signature.xml", dir+"SignedValue.dat")
	if code != exitIndeterminate || !strings.Contains(out, "indeterminate  revocation") || !strings.Contains(out, "eseal.example") {
		t.Fatalf("fetch from an unreachable point: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI("verify", "--fetch-crl", "--crl-timeout", "2s", "--trust", dir+"root.pem", "--maker", dir+"maker.pem",
		"--crl", dir+"crl.der", "--data", dir+"Signature.xml", dir+"SignedValue.dat")
	if code != exitOK || !strings.Contains(out, "passed         revocation") {
		t.Fatalf("fetch failing beside a given CRL: exit %d\n%s%s", code, out, errs)
	}
}
