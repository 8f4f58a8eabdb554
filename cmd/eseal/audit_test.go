package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/store"
)

// auditStore makes a store with n audit records and returns its directory and a PEM file of
// the head key.
func auditStore(t *testing.T, n int) (dir, keyFile string) {
	t.Helper()
	ctx := context.Background()
	tmp := t.TempDir()
	dir = filepath.Join(tmp, "data")
	db, err := store.Open(dir, &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key, _ := sm2.GenerateKey(rand.Reader)
	lg, err := audit.Open(ctx, db, audit.Options{HeadSigner: key, HeadEvery: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := lg.Append(ctx, audit.Record{Actor: "reviewer-1", Action: audit.ActionApprove, SealCode: "460100000001",
			Outcome: audit.OutcomeOK, Details: map[string]string{"application": fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	der, err := smx509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(tmp, "head.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, keyFile
}

func TestAuditCommands(t *testing.T) {
	dir, keyFile := auditStore(t, 12)
	code, out, errs := runCLI("audit", "verify", "--data", dir)
	if code != exitOK || !strings.Contains(out, "intact: 12 records") || !strings.Contains(out, "keys kept in the log") {
		t.Fatalf("verify: %d %q %q", code, out, errs)
	}
	code, out, _ = runCLI("audit", "verify", "--data", dir, "--key", keyFile)
	if code != exitOK || strings.Contains(out, "keys kept in the log") {
		t.Fatalf("verify --key: %d %q", code, out)
	}
	other := filepath.Join(t.TempDir(), "other.pem")
	k2, _ := sm2.GenerateKey(rand.Reader)
	der, _ := smx509.MarshalPKIXPublicKey(k2.Public())
	_ = os.WriteFile(other, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	if code, out, _ = runCLI("audit", "verify", "--data", dir, "--key", other); code != exitFailed || !strings.Contains(out, "not trusted") {
		t.Fatalf("verify with another key: %d %q", code, out)
	}

	outFile := filepath.Join(t.TempDir(), "audit.jsonl")
	if code, _, errs = runCLI("audit", "export", "--data", dir, "--out", outFile); code != exitOK {
		t.Fatalf("export: %d %s", code, errs)
	}
	fi, err := os.Stat(outFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v %v", fi, err)
	}
	f, _ := os.Open(outFile)
	records := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		if l["type"] == "record" {
			records++
		}
	}
	f.Close()
	if records != 12 {
		t.Fatalf("%d records exported", records)
	}
	if code, _, _ = runCLI("audit", "export", "--data", dir, "--out", outFile); code != exitUsage {
		t.Fatalf("export over an existing file: %d", code)
	}
	if code, out, _ = runCLI("audit", "export", "--data", dir); code != exitOK || !strings.HasPrefix(out, `{"type":"log"`) {
		t.Fatalf("export to stdout: %d %.80q", code, out)
	}

	// Remove record 7 directly in the store.
	db, err := store.Open(dir, &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Delete(context.Background(), []byte("audit/r/\x00\x00\x00\x00\x00\x00\x00\x07")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, _ = runCLI("audit", "verify", "--data", dir, "--key", keyFile)
	if code != exitFailed || !strings.Contains(out, "first bad record 7 removed") {
		t.Fatalf("verify of a broken log: %d %q", code, out)
	}
}

func TestBackupCommands(t *testing.T) {
	dir, keyFile := auditStore(t, 8)
	tmp := t.TempDir()
	bdir := filepath.Join(tmp, "backup")
	if code, out, errs := runCLI("backup", "--data", dir, "--to", bdir); code != exitOK || !strings.Contains(out, "written") {
		t.Fatalf("backup: %d %q %q", code, out, errs)
	}
	if code, _, _ := runCLI("backup", "--data", dir, "--to", bdir); code != exitUsage {
		t.Fatalf("backup over an existing backup: %d", code)
	}
	restored := filepath.Join(tmp, "restored")
	if code, out, errs := runCLI("restore", "--from", bdir, "--data", restored, "--key", keyFile); code != exitOK || !strings.Contains(out, "intact: 8 records") {
		t.Fatalf("restore: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLI("restore", "--from", bdir, "--data", restored); code != exitUsage || !strings.Contains(errs, "not empty") {
		t.Fatalf("restore into a non-empty directory: %d %q", code, errs)
	}
	if code, out, _ := runCLI("audit", "verify", "--data", restored, "--key", keyFile); code != exitOK {
		t.Fatalf("verify the restored store: %d %q", code, out)
	}

	// A backup whose chain is broken is refused.
	db, err := store.Open(restored, &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set(context.Background(), []byte("audit/r/\x00\x00\x00\x00\x00\x00\x00\x03"), []byte("forged")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	broken := filepath.Join(tmp, "broken-backup")
	if code, _, errs := runCLI("backup", "--data", restored, "--to", broken); code != exitOK {
		t.Fatalf("backup: %d %s", code, errs)
	}
	target := filepath.Join(tmp, "never")
	code, out, _ := runCLI("restore", "--from", broken, "--data", target, "--key", keyFile)
	if code != exitFailed || !strings.Contains(out, "first bad record 3 changed") {
		t.Fatalf("restore of a broken backup: %d %q", code, out)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("a refused restore created %s", target)
	}
}

func TestBackupAndAuditUsage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"backup", "--help"}, exitOK, "usage: " + backupSynopsis},
		{[]string{"restore", "-h"}, exitOK, "usage: " + restoreSynopsis},
		{[]string{"audit", "verify", "--help"}, exitOK, "usage: " + auditVerifySynopsis},
		{[]string{"audit", "export", "--help"}, exitOK, "usage: " + auditExportSynopsis},
		{[]string{"audit", "--help"}, exitOK, auditExportSynopsis},
		{[]string{"audit"}, exitUsage, ""},
		{[]string{"audit", "frob"}, exitUsage, ""},
		{[]string{"backup", "--to", "x"}, exitUsage, ""},
		{[]string{"restore", "--from", "x"}, exitUsage, ""},
		{[]string{"audit", "verify"}, exitUsage, ""},
		{[]string{"audit", "verify", "--data", missing}, exitUsage, ""},
		{[]string{"audit", "export", "--data", missing}, exitUsage, ""},
		{[]string{"backup", "--data", missing, "--to", missing + "2"}, exitUsage, ""},
		{[]string{"help"}, exitOK, auditVerifySynopsis},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, _ := runCLI(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) {
				t.Fatalf("exit %d, out %q; want %d and %q", code, out, tc.code, tc.out)
			}
		})
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatal("a command created a store at a missing directory")
	}
}
