package main

import (
	"context"
	"crypto"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/store"
)

// Synopses of the audit commands.
const (
	auditVerifySynopsis = "eseal audit verify --data DIR [--key FILE]..."
	auditExportSynopsis = "eseal audit export --data DIR [--out FILE|-]"
)

func auditUsage(w io.Writer) {
	fmt.Fprint(w, `usage:
  `+auditVerifySynopsis+`
      check the audit log's whole chain and signed heads; exit 0 intact, 1 broken (naming
      the first bad record), 2 usage or I/O error
  `+auditExportSynopsis+`
      write the audit log as JSON lines for an outside auditor (standard output by default)
`)
}

func cmdAudit(args []string, stdout, stderr io.Writer) int {
	return runGroup("audit", auditUsage, map[string]command{
		"verify": cmdAuditVerify,
		"export": cmdAuditExport,
	}, args, stdout, stderr)
}

func cmdAuditVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	data := fs.String("data", "", "the store `DIR`")
	var keyFiles listFlag
	fs.Var(&keyFiles, "key", "a trusted audit head key: a `FILE` with a public key or certificate, PEM or DER\n(repeatable); without one the heads are checked with the keys kept in the log")
	rest, code, ok := parseCommand(fs, auditVerifySynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(rest) != 0 || *data == "" {
		fmt.Fprintf(stderr, "eseal audit verify: --data is required and takes no arguments\nusage: %s\n", auditVerifySynopsis)
		return exitUsage
	}
	keys, err := loadPublicKeys(keyFiles)
	if err != nil {
		fmt.Fprintf(stderr, "eseal audit verify: %v\n", err)
		return exitUsage
	}
	db, err := openExistingStore(*data)
	if err != nil {
		fmt.Fprintf(stderr, "eseal audit verify: %v\n", err)
		return exitUsage
	}
	defer db.Close()
	rep, err := audit.Verify(context.Background(), db, audit.VerifyOptions{Keys: keys})
	if err != nil {
		fmt.Fprintf(stderr, "eseal audit verify: %v\n", err)
		return exitUsage
	}
	printAuditReport(stdout, &rep)
	if !rep.OK() {
		return exitFailed
	}
	return exitOK
}

// printAuditReport prints a verification report: the verdict, the first bad record, and
// every problem found.
func printAuditReport(w io.Writer, rep *audit.Report) {
	if f := rep.First(); f != nil {
		fmt.Fprintf(w, "audit log BROKEN: first bad %s\n", f)
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
		if rep.More {
			fmt.Fprintln(w, "  (more problems not listed)")
		}
	} else {
		fmt.Fprintf(w, "audit log intact: %d records, %d signed heads", rep.Records, rep.Heads)
		if rep.Heads > 0 {
			fmt.Fprintf(w, " (the last over record %d)", rep.LastSigned)
		}
		fmt.Fprintf(w, ", %d records after the last head\n", rep.Unsigned())
	}
	if rep.KeysFromLog {
		fmt.Fprintln(w, "note: the heads were checked with the keys kept in the log; give --key to check who signed them")
	}
}

func cmdAuditExport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	data := fs.String("data", "", "the store `DIR`")
	out := fs.String("out", "-", "write to `FILE` (created with mode 0600, never overwritten), - for standard output")
	rest, code, ok := parseCommand(fs, auditExportSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(rest) != 0 || *data == "" || *out == "" {
		fmt.Fprintf(stderr, "eseal audit export: --data is required and takes no arguments\nusage: %s\n", auditExportSynopsis)
		return exitUsage
	}
	db, err := openExistingStore(*data)
	if err != nil {
		fmt.Fprintf(stderr, "eseal audit export: %v\n", err)
		return exitUsage
	}
	defer db.Close()
	err = writeOutput(*out, stdout, func(w io.Writer) error {
		return audit.Export(context.Background(), db, w)
	})
	if err != nil {
		fmt.Fprintf(stderr, "eseal audit export: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// writeOutput calls write with stdout when name is "-", or else with the file name, created
// with mode 0600 and never overwriting one; it returns write's error, or else the file's.
func writeOutput(name string, stdout io.Writer, write func(io.Writer) error) error {
	if name == "-" {
		return write(stdout)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// openExistingStore opens the store in dir, which must exist and hold something: opening a
// missing directory would create an empty store.
func openExistingStore(dir string) (*store.Pebble, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("no store at %s: %w", dir, err)
	}
	names, err := f.Readdirnames(1)
	f.Close()
	if len(names) == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("no store at %s: the directory is empty", dir)
		}
		return nil, fmt.Errorf("no store at %s: %w", dir, err)
	}
	return store.Open(dir, nil)
}

// loadPublicKeys reads public keys from files holding PEM PUBLIC KEY or CERTIFICATE blocks,
// or one DER public key or certificate; each a regular file of at most maxInputSize bytes.
func loadPublicKeys(paths []string) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for _, p := range paths {
		b, err := readInput(p) // a regular file within the input limit: never a pipe or device
		if err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
		var blocks []pem.Block
		for rest := b; ; {
			var blk *pem.Block
			if blk, rest = pem.Decode(rest); blk == nil {
				break
			}
			blocks = append(blocks, *blk)
		}
		if len(blocks) == 0 {
			blocks = append(blocks, pem.Block{Bytes: b}) // DER
		}
		for _, blk := range blocks {
			k, err := parsePublicKey(blk.Type, blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("--key %s: %w", p, err)
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

func parsePublicKey(typ string, der []byte) (crypto.PublicKey, error) {
	if typ == "" || typ == "PUBLIC KEY" {
		if k, err := smx509.ParsePKIXPublicKey(der); err == nil {
			return k, nil
		} else if typ != "" {
			return nil, err
		}
	}
	if typ == "" || typ == "CERTIFICATE" {
		c, err := smx509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		return c.PublicKey, nil
	}
	return nil, fmt.Errorf("a PEM block of type %q, not a public key or certificate", typ)
}
