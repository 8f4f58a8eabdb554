package main

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/verifier"
)

// The bar for any package of at most 64 MiB, on one core.
const (
	boundMemory = 1 << 30
	boundCPU    = 20 * time.Second
)

// hostileEnv names the package the child process verifies.
const hostileEnv = "ESEAL_TEST_HOSTILE_FILE"

// TestHostileChild is the child process of TestHostilePackagesBounded: it runs
// "eseal verify --json" on one package and prints what it gave. It does nothing when run
// on its own.
func TestHostileChild(t *testing.T) {
	path := os.Getenv(hostileEnv)
	if path == "" {
		return
	}
	var out, errb bytes.Buffer
	code := run([]string{"verify", "--json", path}, &out, &errb)
	var r verifier.Report
	ind, sigs := "", 0
	if json.Unmarshal(out.Bytes(), &r) == nil {
		ind, sigs = r.Indication, len(r.Signatures)
	}
	fmt.Printf("\nRESULT exit=%d bytes=%d indication=%s signatures=%d stderr=%q\n", code, out.Len(), ind, sigs, clipString(errb.String(), 300))
	fmt.Printf("PEAK %d\n", peakRSS(t))
}

// peakRSS returns the process's peak resident memory in bytes (VmHWM: fresh at exec, unlike
// the rusage a parent sees, which keeps the parent's own peak from before the fork).
func peakRSS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatalf("peak memory cannot be measured: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			var kb int64
			fmt.Sscan(f[1], &kb)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// hostilePKI makes an SM2 root, seal maker and signer for the test.
type hostilePKI struct {
	root, maker, signer *smx509.Certificate
	makerKey, signerKey *sm2.PrivateKey
}

func newHostilePKI(t *testing.T) *hostilePKI {
	t.Helper()
	key := func() *sm2.PrivateKey {
		k, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	rootKey := key()
	p := &hostilePKI{makerKey: key(), signerKey: key()}
	mk := func(serial int64, cn string, ca bool, pub any, parent *smx509.Certificate) *smx509.Certificate {
		tpl := &smx509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC),
			KeyUsage: smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment}
		if ca {
			tpl.IsCA, tpl.BasicConstraintsValid, tpl.KeyUsage = true, true, smx509.KeyUsageCertSign
		}
		if parent == nil {
			parent = tpl
		}
		der, err := smx509.CreateCertificate(rand.Reader, tpl, parent, pub, rootKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := smx509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	p.root = mk(1, "hostile test root", true, rootKey.Public(), nil)
	p.maker = mk(2, "hostile test maker", false, p.makerKey.Public(), p.root)
	p.signer = mk(3, "hostile test signer", false, p.signerKey.Public(), p.root)
	return p
}

// signedValue makes an SES signature of data whose seal holds a picture of pictureSize bytes.
func (p *hostilePKI) signedValue(t *testing.T, data []byte, pictureSize int) []byte {
	t.Helper()
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	seal, err := ses.MakeSeal(rand.Reader, &ses.SealTemplate{VID: "eseal", ESID: "1", Type: 1, Name: "hostile",
		SignerCerts: [][]byte{p.signer.Raw}, CreateDate: at, ValidStart: at, ValidEnd: at.AddDate(1, 0, 0),
		Picture: ses.Picture{Type: "PNG", Data: bytes.Repeat([]byte{7}, pictureSize), Width: 40, Height: 40}}, p.maker.Raw, p.makerKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sm3.Sum(data)
	der, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: seal, SignerCert: p.signer.Raw, DataHash: sum[:],
		PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml", Time: at.AddDate(0, 1, 0)}, p.signerKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

const (
	hOFD = `<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD"><ofd:DocBody>` +
		`<ofd:DocInfo><ofd:DocID>x</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot><ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>`
	hDoc  = `<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>`
	hPage = `<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"/>`
)

// hostileZip writes the entries in order, deflated at the best compression.
func hostileZip(t *testing.T, path string, entries ...any) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for i := 0; i < len(entries); i += 2 {
		w, err := zw.Create(entries[i].(string))
		if err != nil {
			t.Fatal(err)
		}
		switch b := entries[i+1].(type) {
		case []byte:
			w.Write(b)
		case string:
			io.WriteString(w, b)
		case func(io.Writer):
			b(w)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	return fi.Size()
}

func signaturesXML(n int, baseLoc func(i int) string) func(io.Writer) {
	return func(w io.Writer) {
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016">`)
		for i := 0; i < n; i++ {
			fmt.Fprintf(w, `<ofd:Signature ID="%d" Type="Seal" BaseLoc="%s"/>`, i+1, baseLoc(i))
		}
		io.WriteString(w, `</ofd:Signatures>`)
	}
}

func signatureXMLWith(refs func(io.Writer), value string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ofd:Signature xmlns:ofd="http://www.ofdspec.org/2016"><ofd:SignedInfo>` +
		`<ofd:Provider ProviderName="x"/><ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod><ofd:References CheckMethod="1.2.156.10197.1.401">`)
	refs(&b)
	b.WriteString(`</ofd:References></ofd:SignedInfo><ofd:SignedValue>` + value + `</ofd:SignedValue></ofd:Signature>`)
	return b.Bytes()
}

// TestHostilePackagesBounded builds the largest hostile packages of each kind (each at most
// 64 MiB) and verifies each in a child process on one core, measuring its peak memory and CPU
// time: each must stay under 1 GiB and 20 s, and give a bounded report or a clear error.
func TestHostilePackagesBounded(t *testing.T) {
	if os.Getenv(hostileEnv) != "" {
		return
	}
	dir := t.TempDir()
	p := newHostilePKI(t)
	type hostile struct {
		name  string
		build func(path string) int64
		want  func(t *testing.T, res string)
	}
	failedOrError := func(t *testing.T, res string) {
		if !strings.Contains(res, "exit=1 ") && !strings.Contains(res, "exit=2 ") {
			t.Errorf("want TOTAL_FAILED or a clear error: %s", res)
		}
	}
	cases := []hostile{
		{"8 signatures of 800,000 failing references", func(path string) int64 {
			refs := signatureXMLWith(func(w io.Writer) {
				for i := 0; i < 800000; i++ {
					io.WriteString(w, `<ofd:Reference FileRef="/OFD.xml"><ofd:CheckValue>AAAA</ofd:CheckValue></ofd:Reference>`)
				}
			}, "SignedValue.dat")
			args := []any{"OFD.xml", hOFD, "Doc_0/Document.xml", hDoc, "Doc_0/Pages/Page_0/Content.xml", hPage,
				"Doc_0/Signs/Signatures.xml", signaturesXML(8, func(i int) string { return fmt.Sprintf("Sign_%d/Signature.xml", i) })}
			for i := 0; i < 8; i++ {
				args = append(args, fmt.Sprintf("Doc_0/Signs/Sign_%d/Signature.xml", i), refs, fmt.Sprintf("Doc_0/Signs/Sign_%d/SignedValue.dat", i), "x")
			}
			return hostileZip(t, path, args...)
		}, failedOrError},
		{"1,000 entries naming one Signature.xml with a 60 MiB TBS", func(path string) int64 {
			xml := signatureXMLWith(func(w io.Writer) {}, "/Doc_0/Signs/Sign_0/SignedValue.dat")
			return hostileZip(t, path, "OFD.xml", hOFD, "Doc_0/Document.xml", hDoc, "Doc_0/Pages/Page_0/Content.xml", hPage,
				"Doc_0/Signs/Signatures.xml", signaturesXML(1000, func(int) string { return "Sign_0/Signature.xml" }),
				"Doc_0/Signs/Sign_0/Signature.xml", xml, "Doc_0/Signs/Sign_0/SignedValue.dat", p.signedValue(t, xml, 60<<20))
		}, func(t *testing.T, res string) {
			failedOrError(t, res)
			if !strings.Contains(res, "signatures=1 ") {
				t.Errorf("the signature is not reported once: %s", res)
			}
		}},
		{"1,000 signatures of 100 references", func(path string) int64 {
			xml := signatureXMLWith(func(w io.Writer) {
				for i := 0; i < 100; i++ {
					fmt.Fprintf(w, `<ofd:Reference FileRef="/Doc_0/Res/%d.bin"><ofd:CheckValue>AAAA</ofd:CheckValue></ofd:Reference>`, i)
				}
			}, "SignedValue.dat")
			sv := p.signedValue(t, xml, 1000)
			args := []any{"OFD.xml", hOFD, "Doc_0/Document.xml", hDoc, "Doc_0/Pages/Page_0/Content.xml", hPage,
				"Doc_0/Signs/Signatures.xml", signaturesXML(1000, func(i int) string { return fmt.Sprintf("Sign_%d/Signature.xml", i) })}
			for i := 0; i < 1000; i++ {
				args = append(args, fmt.Sprintf("Doc_0/Signs/Sign_%d/Signature.xml", i), xml, fmt.Sprintf("Doc_0/Signs/Sign_%d/SignedValue.dat", i), sv)
			}
			for i := 0; i < 100; i++ {
				args = append(args, fmt.Sprintf("Doc_0/Res/%d.bin", i), func(w io.Writer) { w.Write(make([]byte, 2<<20)) })
			}
			return hostileZip(t, path, args...)
		}, failedOrError},
		{"4 signatures with distinct 60 MiB TBS", func(path string) int64 {
			args := []any{"OFD.xml", hOFD, "Doc_0/Document.xml", hDoc, "Doc_0/Pages/Page_0/Content.xml", hPage,
				"Doc_0/Signs/Signatures.xml", signaturesXML(4, func(i int) string { return fmt.Sprintf("Sign_%d/Signature.xml", i) })}
			for i := 0; i < 4; i++ {
				xml := signatureXMLWith(func(w io.Writer) {
					fmt.Fprintf(w, `<ofd:Reference FileRef="/Doc_0/Document.xml"><ofd:CheckValue>%d</ofd:CheckValue></ofd:Reference>`, i)
				}, "SignedValue.dat")
				args = append(args, fmt.Sprintf("Doc_0/Signs/Sign_%d/Signature.xml", i), xml,
					fmt.Sprintf("Doc_0/Signs/Sign_%d/SignedValue.dat", i), p.signedValue(t, xml, 60<<20+i))
			}
			return hostileZip(t, path, args...)
		}, failedOrError},
		{"references to 60 MiB files", func(path string) int64 {
			xml := signatureXMLWith(func(w io.Writer) {
				for i := 0; i < 10000; i++ {
					fmt.Fprintf(w, `<ofd:Reference FileRef="/Doc_0/Res/%d.bin"><ofd:CheckValue>AAAA</ofd:CheckValue></ofd:Reference>`, i%8)
				}
			}, "SignedValue.dat")
			args := []any{"OFD.xml", hOFD, "Doc_0/Document.xml", hDoc, "Doc_0/Pages/Page_0/Content.xml", hPage,
				"Doc_0/Signs/Signatures.xml", signaturesXML(1, func(int) string { return "Sign_0/Signature.xml" }),
				"Doc_0/Signs/Sign_0/Signature.xml", xml, "Doc_0/Signs/Sign_0/SignedValue.dat", p.signedValue(t, xml, 1000)}
			for i := 0; i < 8; i++ {
				args = append(args, fmt.Sprintf("Doc_0/Res/%d.bin", i), func(w io.Writer) { w.Write(make([]byte, 60<<20)) })
			}
			return hostileZip(t, path, args...)
		}, failedOrError},
		{"deeply nested Signatures.xml", func(path string) int64 {
			return hostileZip(t, path, "OFD.xml", hOFD, "Doc_0/Document.xml", hDoc, "Doc_0/Pages/Page_0/Content.xml", hPage,
				"Doc_0/Signs/Signatures.xml", func(w io.Writer) {
					io.WriteString(w, `<ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016">`)
					w.Write(bytes.Repeat([]byte("<a>"), 20<<20))
				})
		}, failedOrError},
		{"deeply nested Document.xml", func(path string) int64 {
			xml := signatureXMLWith(func(w io.Writer) {}, "SignedValue.dat")
			return hostileZip(t, path, "OFD.xml", hOFD, "Doc_0/Document.xml", func(w io.Writer) {
				io.WriteString(w, `<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:CommonData>`)
				w.Write(bytes.Repeat([]byte("<b x='>'>"), 7<<20))
			}, "Doc_0/Pages/Page_0/Content.xml", hPage,
				"Doc_0/Signs/Signatures.xml", signaturesXML(1, func(int) string { return "Sign_0/Signature.xml" }),
				"Doc_0/Signs/Sign_0/Signature.xml", xml, "Doc_0/Signs/Sign_0/SignedValue.dat", p.signedValue(t, xml, 1000))
		}, failedOrError},
		{"a 60 MiB Signature.xml", func(path string) int64 {
			xml := signatureXMLWith(func(w io.Writer) {
				io.WriteString(w, `<ofd:Reference FileRef="/Doc_0/Document.xml"><ofd:CheckValue>`)
				w.Write(bytes.Repeat([]byte("A"), 60<<20))
				io.WriteString(w, `</ofd:CheckValue></ofd:Reference>`)
			}, "SignedValue.dat")
			return hostileZip(t, path, "OFD.xml", hOFD, "Doc_0/Document.xml", hDoc, "Doc_0/Pages/Page_0/Content.xml", hPage,
				"Doc_0/Signs/Signatures.xml", signaturesXML(1000, func(int) string { return "Sign_0/Signature.xml" }),
				"Doc_0/Signs/Sign_0/Signature.xml", xml, "Doc_0/Signs/Sign_0/SignedValue.dat", p.signedValue(t, xml, 1000))
		}, failedOrError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".ofd")
			if size := c.build(path); size > maxInputSize {
				t.Fatalf("the package is %d bytes, more than the 64 MiB bar", size)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestHostileChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), hostileEnv+"="+path, "GOMAXPROCS=1")
			start := time.Now()
			out, err := cmd.CombinedOutput()
			wall := time.Since(start)
			if err != nil {
				t.Fatalf("child: %v\n%s", err, clipString(string(out), 2000))
			}
			ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			i := strings.Index(string(out), "RESULT ")
			j := strings.Index(string(out), "PEAK ")
			if i < 0 || j < 0 {
				t.Fatalf("no result from the child:\n%s", clipString(string(out), 2000))
			}
			res := strings.TrimSpace(strings.SplitN(string(out[i:]), "\n", 2)[0])
			var rss int64
			fmt.Sscan(string(out[j+5:]), &rss)
			t.Logf("peak RSS %d MiB, CPU %v, wall %v: %s", rss>>20, cpu.Round(time.Millisecond), wall.Round(time.Millisecond), res)
			if rss > boundMemory {
				t.Errorf("peak memory %d MiB, over the 1 GiB bar", rss>>20)
			}
			if cpu > boundCPU || wall > 3*boundCPU {
				t.Errorf("CPU %v (wall %v), over the 20 s bar", cpu, wall)
			}
			if !strings.Contains(res, "stderr=") || strings.Contains(res, "exit=0 ") {
				t.Errorf("a hostile package passed: %s", res)
			}
			c.want(t, res)
		})
	}
}
