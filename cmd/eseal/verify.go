package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/revocation"
	"github.com/eseal/eseal/store"
	trustsets "github.com/eseal/eseal/trust"
	"github.com/eseal/eseal/verifier"
)

// quietLogger keeps the packages' log lines off the terminal: what matters reaches the
// report.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func cmdVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON report per file, one per line")
	var trust, makers, crls listFlag
	fs.Var(&trust, "trust", "trust anchor certificates: a `FILE`, PEM or DER (repeatable)")
	fs.Var(&makers, "maker", "accepted seal makers: a `FILE` of seal maker certificates, or of CA certificates\nthrough which makers are issued, PEM or DER (repeatable); without one no seal maker is trusted")
	fs.Var(&crls, "crl", "CRLs to check revocation: a `FILE`, PEM or DER (repeatable)")
	dataPath := fs.String("data", "", "the `FILE` holding the original data of a bare seal signature, to check its dataHash")
	storeDir := fs.String("store", "", "the appliance's data `DIR`: its trust sets (--trust-set), and where fetched CRLs are kept")
	setName := fs.String("trust-set", "", "verify under the trust set `NAME` kept in --store, instead of --trust and --maker")
	fetch := fs.Bool("fetch-crl", false, "fetch CRLs over HTTP from the distribution points the certificates name")
	crlTimeout := fs.Duration("crl-timeout", revocation.DefaultTimeout, "how long one CRL fetch may take (with --fetch-crl)")
	paths, code, ok := parseCommand(fs, verifySynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "eseal verify: no file given")
		return exitUsage
	}
	if *setName != "" && (*storeDir == "" || len(trust) > 0 || len(makers) > 0) {
		fmt.Fprintln(stderr, "eseal verify: --trust-set needs --store and takes the place of --trust and --maker")
		return exitUsage
	}
	var opts verifier.Options
	var db *store.Pebble
	if *storeDir != "" {
		var err error
		if db, err = store.Open(*storeDir, nil); err != nil {
			fmt.Fprintf(stderr, "eseal verify: --store: %v\n", err)
			return exitUsage
		}
		defer db.Close()
	}
	if *setName != "" {
		sets, err := trustsets.Open(context.Background(), store.MustSpace(db, trustsets.SpaceName), trustsets.Options{Logger: quietLogger()})
		if err != nil {
			fmt.Fprintf(stderr, "eseal verify: --store: trust sets: %v\n", err)
			return exitUsage
		}
		opts.TrustSets, opts.TrustSet = sets, *setName
		if _, _, err := sets.TrustSet(*setName); err != nil {
			fmt.Fprintf(stderr, "eseal verify: --trust-set: %v\n", err)
			return exitUsage
		}
	}
	if *fetch {
		var kv store.KV // without --store, fetched CRLs are kept for this run only
		if db != nil {
			kv = db
		}
		f, err := revocation.New(kv, revocation.Config{Timeout: *crlTimeout, Logger: quietLogger()})
		if err != nil {
			fmt.Fprintf(stderr, "eseal verify: --fetch-crl: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		opts.CRLSource = f
	}
	for _, p := range trust {
		certs, err := loadCertificates(p)
		if err != nil {
			fmt.Fprintf(stderr, "eseal verify: --trust %s: %v\n", p, err)
			return exitUsage
		}
		opts.Roots = append(opts.Roots, certs...)
	}
	for _, p := range makers {
		certs, err := loadCertificates(p)
		if err != nil {
			fmt.Fprintf(stderr, "eseal verify: --maker %s: %v\n", p, err)
			return exitUsage
		}
		opts.Makers = append(opts.Makers, certs...)
	}
	for _, p := range crls {
		l, err := loadCRLs(p)
		if err != nil {
			fmt.Fprintf(stderr, "eseal verify: --crl %s: %v\n", p, err)
			return exitUsage
		}
		opts.CRLs = append(opts.CRLs, l...)
	}
	var original []byte
	if *dataPath != "" {
		var err error
		if original, err = readInput(*dataPath); err != nil {
			fmt.Fprintf(stderr, "eseal verify: --data: %v\n", err)
			return exitUsage
		}
	}
	v := verifier.New(opts)
	status := exitOK
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, p := range paths {
		data, err := readInput(p)
		if err != nil {
			fmt.Fprintf(stderr, "eseal verify: %v\n", err)
			status = exitUsage
			continue
		}
		r, err := v.VerifyFile(p, data, original, ofd.Limits{})
		if err != nil {
			fmt.Fprintf(stderr, "eseal verify: %s: %v\n", p, err)
			status = exitUsage
			continue
		}
		if *asJSON {
			if err := enc.Encode(r); err != nil {
				fmt.Fprintf(stderr, "eseal verify: %v\n", err)
				return exitUsage
			}
		} else {
			printReport(stdout, r)
		}
		if status == exitUsage {
			continue
		}
		switch r.Indication {
		case verifier.TotalPassed:
		case verifier.TotalFailed:
			status = exitFailed
		default:
			if status == exitOK {
				status = exitIndeterminate
			}
		}
	}
	return status
}

func printReport(w io.Writer, r *verifier.Report) {
	switch r.Kind {
	case "seal":
		fmt.Fprintf(w, "%s: %s (seal)\n", r.Path, r.Indication)
		printSeal(w, "  ", r.Seal)
		printChecks(w, "  ", r.Seal.Checks)
	default:
		fmt.Fprintf(w, "%s: %s (%s, %d signature(s))\n", r.Path, r.Indication, r.Kind, len(r.Signatures))
		for _, s := range r.Signatures {
			sub := ""
			if s.SubIndication != "" {
				sub = " / " + s.SubIndication
			}
			if r.Kind == "ofd" && s.ID == "" && s.Location == "" && s.Type == "" {
				fmt.Fprintf(w, "  the package as a whole: %s%s\n", s.Indication, sub) // it cannot be read unambiguously
			} else {
				fmt.Fprintf(w, "  signature %s  %s  type %s v%d: %s%s\n", s.ID, s.Location, s.Type, s.Version, s.Indication, sub)
			}
			if s.SigningTime != "" {
				fmt.Fprintf(w, "    signed at %s\n", s.SigningTime)
			}
			if s.Signer != nil {
				fmt.Fprintf(w, "    signer    %s (serial %s)\n", s.Signer.Subject, s.Signer.Serial)
			}
			if s.Seal != nil {
				printSeal(w, "    ", s.Seal)
			}
			printChecks(w, "    ", s.Checks)
		}
		if r.Kind == "ofd" {
			for _, f := range r.UnsignedFiles {
				fmt.Fprintf(w, "  unsigned  %s\n", f)
			}
			for _, m := range r.Warnings {
				fmt.Fprintf(w, "  warning   %s\n", m)
			}
		}
	}
}

func printSeal(w io.Writer, indent string, s *verifier.SealReport) {
	if s == nil || (s.ID == "" && s.Name == "") {
		return
	}
	fmt.Fprintf(w, "%sseal      %s (id %s, type %d), valid %s to %s\n", indent, s.Name, s.ID, s.Type, s.ValidFrom, s.ValidTo)
	if s.Maker != "" {
		fmt.Fprintf(w, "%smaker     %s\n", indent, s.Maker)
	}
}

func printChecks(w io.Writer, indent string, checks []verifier.Check) {
	for _, c := range checks {
		fmt.Fprintf(w, "%s%-14s %-28s %s\n", indent, c.Status, c.Name, c.Detail)
	}
}

// loadCertificates reads PEM (any number of CERTIFICATE blocks) or one DER certificate.
func loadCertificates(path string) ([]*smx509.Certificate, error) {
	return loadDER(path, "CERTIFICATE", "certificate", smx509.ParseCertificate)
}

// loadCRLs reads PEM (any number of X509 CRL blocks) or one DER CRL.
func loadCRLs(path string) ([]*smx509.RevocationList, error) {
	return loadDER(path, "X509 CRL", "CRL", smx509.ParseRevocationList)
}

func loadDER[T any](path, blockType, what string, parse func([]byte) (T, error)) ([]T, error) {
	data, err := readInput(path)
	if err != nil {
		return nil, err
	}
	ders, err := pemOrDER(data, blockType)
	if err != nil {
		return nil, err
	}
	var out []T
	for _, d := range ders {
		v, err := parse(d)
		if err != nil {
			return nil, fmt.Errorf("not a %s: %v", what, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func pemOrDER(data []byte, blockType string) ([][]byte, error) {
	var out [][]byte
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == blockType {
			out = append(out, b.Bytes)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if len(data) > 0 && data[0] == 0x30 {
		return [][]byte{data}, nil
	}
	return nil, fmt.Errorf("no %s found (neither PEM nor DER)", blockType)
}

// maxInputSize bounds every file the commands read. A package of at most this size is
// verified in bounded time and memory (see the ofd and verifier limits).
const maxInputSize = 64 << 20

// readInput reads a regular file of at most maxInputSize bytes. Devices, pipes and folders
// are refused before they are opened, so that "eseal verify /dev/zero" ends at once.
func readInput(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(path, fi); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi2, err := f.Stat(); err != nil {
		return nil, err
	} else if err := regular(path, fi2); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxInputSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxInputSize {
		return nil, fmt.Errorf("%s is larger than the limit of %d MiB per input file", path, maxInputSize>>20)
	}
	return data, nil
}

func regular(path string, fi os.FileInfo) error {
	switch m := fi.Mode(); {
	case m.IsDir():
		return fmt.Errorf("%s is a folder, not a file", path)
	case !m.IsRegular():
		what := "a special file"
		switch {
		case m&os.ModeDevice != 0:
			what = "a device"
		case m&os.ModeNamedPipe != 0:
			what = "a pipe"
		case m&os.ModeSocket != 0:
			what = "a socket"
		}
		return fmt.Errorf("%s is %s, not a regular file: only regular files are read", path, what)
	case fi.Size() > maxInputSize:
		return fmt.Errorf("%s is %d bytes, larger than the limit of %d MiB per input file", path, fi.Size(), maxInputSize>>20)
	}
	return nil
}
