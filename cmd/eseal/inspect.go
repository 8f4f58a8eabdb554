package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/verifier"
)

// maxPictures bounds the seal pictures one run of inspect writes.
const maxPictures = 16

func cmdInspect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	picture := fs.String("picture", "", fmt.Sprintf("write the seal picture to this new file, or to standard output for \"-\" (OFD with several seals: OUT, OUT.2, ... at most %d)", maxPictures))
	force := fs.Bool("force", false, "let --picture replace existing regular files (never symbolic links or devices)")
	paths, code, ok := parseCommand(fs, inspectSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(paths) != 1 {
		fmt.Fprintln(stderr, "eseal inspect: give exactly one file")
		return exitUsage
	}
	path := paths[0]
	data, err := readInput(path)
	if err != nil {
		fmt.Fprintf(stderr, "eseal inspect: %v\n", err)
		return exitUsage
	}
	text := stdout
	if *picture == "-" {
		text = stderr // standard output carries the picture
	}
	var seals []*ses.Seal
	switch verifier.Kind(path, data) {
	case "ofd":
		seals, err = inspectOFD(text, path, data)
	case "seal":
		var s *ses.Seal
		if s, err = ses.ParseSeal(data); err == nil {
			fmt.Fprintf(text, "%s: seal\n", path)
			printSealInfo(text, "  ", s)
			seals = append(seals, s)
		}
	default:
		var s *ses.Signature
		if s, err = ses.ParseSignature(data); err == nil {
			fmt.Fprintf(text, "%s: seal signature\n", path)
			printSignatureInfo(text, "  ", s)
			seals = append(seals, s.TBS.Seal)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "eseal inspect: %s: %v\n", path, err)
		return exitUsage
	}
	if *picture == "" {
		return exitOK
	}
	if len(seals) == 0 {
		fmt.Fprintf(stderr, "eseal inspect: %s holds no seal picture\n", path)
		return exitUsage
	}
	if *picture == "-" {
		if _, err := stdout.Write(seals[0].Info.Picture.Data); err != nil {
			fmt.Fprintf(stderr, "eseal inspect: writing the picture: %v\n", err)
			return exitUsage
		}
		if len(seals) > 1 {
			fmt.Fprintf(stderr, "picture of the first seal written to standard output; %d more: give a file name to write them all\n", len(seals)-1)
		}
		return exitOK
	}
	for i, s := range seals {
		if i == maxPictures {
			fmt.Fprintf(stderr, "eseal inspect: %d more pictures not written (at most %d per run)\n", len(seals)-i, maxPictures)
			break
		}
		out := *picture
		if i > 0 {
			out = fmt.Sprintf("%s.%d", *picture, i+1)
		}
		if err := writePicture(out, s.Info.Picture.Data, *force); err != nil {
			fmt.Fprintf(stderr, "eseal inspect: %v\n", err)
			return exitUsage
		}
		fmt.Fprintf(text, "picture of seal %q (%s, %d bytes) written to %s\n", s.Info.ESID, s.Info.Picture.Type, len(s.Info.Picture.Data), out)
	}
	return exitOK
}

// writePicture writes a new file with mode 0644 (less the umask). It never follows a
// symbolic link and never replaces an existing file unless force is set, and even then only
// a regular file.
func writePicture(name string, data []byte, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | syscall.O_NOFOLLOW | syscall.O_NONBLOCK
	if !force {
		flags |= os.O_EXCL
	} else if fi, err := os.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s exists and is not a regular file (a link, folder or device): not replaced", name)
	}
	f, err := os.OpenFile(name, flags, 0o644)
	switch {
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s exists: not replaced (--force replaces it)", name)
	case errors.Is(err, syscall.ELOOP):
		return fmt.Errorf("%s is a symbolic link: not followed", name)
	case err != nil:
		return err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file: not written", name)
	}
	if err == nil {
		err = f.Truncate(0)
	}
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func inspectOFD(w io.Writer, path string, data []byte) ([]*ses.Seal, error) {
	pkg, err := ofd.Open(data, ofd.Limits{})
	if err != nil {
		return nil, err
	}
	sigs, err := pkg.Signatures()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "%s: OFD package, %d signature(s)\n", path, len(sigs))
	var seals []*ses.Seal
	shown := map[string]string{}
	for _, s := range sigs {
		fmt.Fprintf(w, "  signature %s  type %s  %s\n", s.ID, s.Type, s.Location)
		if first, ok := shown[s.Location]; ok && s.Location != "" {
			fmt.Fprintf(w, "    same Signature.xml as signature %s\n", first)
			continue
		}
		shown[s.Location] = s.ID
		if s.Provider != "" {
			fmt.Fprintf(w, "    provider     %s %s %s\n", s.Provider, s.ProviderVersion, s.Company)
		}
		if s.SignatureDateTime != "" {
			fmt.Fprintf(w, "    date (xml)   %s\n", s.SignatureDateTime)
		}
		fmt.Fprintf(w, "    references   %d (%s)\n", len(s.References), s.CheckMethod)
		for _, a := range s.StampAnnots {
			fmt.Fprintf(w, "    stamp        page %s at %s\n", a.PageRef, a.BoundaryRaw)
		}
		if s.Err != nil {
			fmt.Fprintf(w, "    problem      %v\n", s.Err)
			continue
		}
		if strings.EqualFold(s.Type, "Sign") {
			fmt.Fprintf(w, "    signed value %d bytes (not a seal signature)\n", len(s.SignedValue))
			continue
		}
		sig, err := ses.ParseSignature(s.SignedValue)
		if err != nil {
			fmt.Fprintf(w, "    problem      %s: %v\n", s.SignedValuePath, err)
			continue
		}
		printSignatureInfo(w, "    ", sig)
		seals = append(seals, sig.TBS.Seal)
	}
	return seals, nil
}

func printSignatureInfo(w io.Writer, in string, s *ses.Signature) {
	fmt.Fprintf(w, "%sversion      %d (TBS_Sign version %d)\n", in, s.Version, s.TBS.Version)
	fmt.Fprintf(w, "%ssigning time %s (%s)\n", in, fmtT(s.TBS.Time), s.TBS.TimeKind)
	fmt.Fprintf(w, "%sdata hash    %s\n", in, hex.EncodeToString(s.TBS.DataHash))
	fmt.Fprintf(w, "%sproperty     %s\n", in, s.TBS.PropertyInfo)
	fmt.Fprintf(w, "%salgorithm    %s\n", in, s.SignAlg)
	printCert(w, in, "signer cert ", s.Cert)
	if len(s.TimeStamp) > 0 {
		fmt.Fprintf(w, "%stimestamp    %d bytes\n", in, len(s.TimeStamp))
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "%snote         %s\n", in, n)
	}
	fmt.Fprintf(w, "%sseal:\n", in)
	printSealInfo(w, in+"  ", s.TBS.Seal)
}

func printSealInfo(w io.Writer, in string, s *ses.Seal) {
	i := &s.Info
	fmt.Fprintf(w, "%sheader       %s version %d vendor %s (structure v%d)\n", in, i.Header.ID, i.Header.Version, i.Header.VID, s.Version)
	fmt.Fprintf(w, "%sesID         %s\n", in, i.ESID)
	fmt.Fprintf(w, "%sname         %s\n", in, i.Property.Name)
	fmt.Fprintf(w, "%stype         %d\n", in, i.Property.Type)
	fmt.Fprintf(w, "%screated      %s\n", in, fmtT(i.Property.CreateDate))
	fmt.Fprintf(w, "%svalid        %s to %s (%s)\n", in, fmtT(i.Property.ValidStart), fmtT(i.Property.ValidEnd), i.Property.TimeKind)
	fmt.Fprintf(w, "%spicture      %s, %d bytes, %d×%d mm\n", in, i.Picture.Type, len(i.Picture.Data), i.Picture.Width, i.Picture.Height)
	printCert(w, in, "maker cert  ", s.MakerCert)
	if i.Property.CertListType == 2 {
		for n, d := range i.Property.CertDigests {
			fmt.Fprintf(w, "%ssigner %d     digest (%s) %s\n", in, n+1, d.Type, hex.EncodeToString(d.Value))
		}
	} else {
		for n, c := range i.Property.Certs {
			printCert(w, in, fmt.Sprintf("signer %-5d", n+1), c)
		}
	}
	for _, x := range i.Extensions {
		crit := ""
		if x.Critical {
			crit = " (critical)"
		}
		fmt.Fprintf(w, "%sextension    %s%s, %d bytes\n", in, x.ID, crit, len(x.Value))
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "%snote         %s\n", in, n)
	}
}

func printCert(w io.Writer, in, label string, der []byte) {
	if der == nil {
		fmt.Fprintf(w, "%s%s (not a certificate)\n", in, label)
		return
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		fmt.Fprintf(w, "%s%s %d bytes that do not parse as a certificate: %v\n", in, label, len(der), err)
		return
	}
	fmt.Fprintf(w, "%s%s %s, serial %s, valid %s to %s\n", in, label, c.Subject, strings.ToUpper(hex.EncodeToString(c.SerialNumber.Bytes())), fmtT(c.NotBefore), fmtT(c.NotAfter))
}

func fmtT(t time.Time) string {
	if t.IsZero() {
		return "(unknown)"
	}
	return t.UTC().Format(time.RFC3339)
}
