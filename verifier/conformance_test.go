package verifier

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ofd"
)

type expSeal struct {
	SealSignatureValid *bool    `json:"sealSignatureValid"`
	OverInfo           *bool    `json:"sealSigOver_DER_SealInfo"`
	OverSeq            *bool    `json:"sealSigOver_DER_SEQ_SealInfo_cert_alg"`
	SigEncoding        string   `json:"sigEncoding"`
	SigNotes           []string `json:"sigNotes"`
}

type expSES struct {
	SignatureValid                   *bool    `json:"signatureValid"`
	Seal                             *expSeal `json:"seal"`
	SignerCertInSealCertList         *bool    `json:"signerCertInSealCertList"`
	SignerCertDigestInSealCertList   *bool    `json:"signerCertDigestInSealCertList"`
	DocHashMatches                   *bool    `json:"docHashMatches_SM3_SignatureXml"`
	SignTimeWithinSealValidity       *bool    `json:"signTimeWithinSealValidity"`
	SignTimeWithinSignerCertValidity *bool    `json:"signTimeWithinSignerCertValidity"`
	TBSVersion                       int      `json:"tbsVersion"`
	SigEncoding                      string   `json:"sigEncoding"`
	SigNotes                         []string `json:"sigNotes"`
}

type expOFDSig struct {
	Entry struct {
		ID   string `json:"ID"`
		Type string `json:"Type"`
	} `json:"entry"`
	SignatureXML  string   `json:"signatureXml"`
	ReferencesOK  int      `json:"referencesOK"`
	ReferencesBad []string `json:"referencesBad"`
	SES           *expSES  `json:"ses"`
}

type expected struct {
	File       string      `json:"file"`
	Kind       string      `json:"kind"`
	Seal       *expSeal    `json:"seal"`
	SES        *expSES     `json:"ses"`
	Signatures []expOFDSig `json:"signatures"`
}

// originals gives, for the bare signatures, the original data PROVENANCE.md names and
// whether dataHash matches it.
var originals = map[string]struct {
	data  string
	match bool
}{
	"./OfdSharp/src/UnitTests/Files/Doc_0/Signs/Sign_0/SignedValue.dat": {"OfdSharp/src/UnitTests/Files/Doc_0/Signs/Sign_0/Signature.xml", true},
	"./synthetic/v1_SignedValue.dat":                                    {"ofdrw/ofdrw-gm/src/test/resources/Signature.xml", true},
	"./synthetic/v4_SignedValue_rawRS.dat":                              {"ofdrw/ofdrw-gm/src/test/resources/Signature.xml", true},
	"./ofdrw/ofdrw-gm/src/test/resources/SignedValueV4.dat":             {"ofdrw/ofdrw-gm/src/test/resources/Signature.xml", false},
}

func TestConformance(t *testing.T) {
	dir := testvectors.Dir(t)
	raw, err := os.ReadFile(filepath.Join(dir, "EXPECTED_RESULTS.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all []expected
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	if len(all) < 20 {
		t.Fatalf("only %d expectations in EXPECTED_RESULTS.json", len(all))
	}
	v := New(Options{})
	for _, e := range all {
		t.Run(e.File, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, e.File))
			if err != nil {
				t.Fatal(err)
			}
			var original []byte
			if o, ok := originals[e.File]; ok {
				if original, err = os.ReadFile(filepath.Join(dir, o.data)); err != nil {
					t.Fatal(err)
				}
			}
			r, err := v.VerifyFile(e.File, data, original, ofd.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			switch e.Kind {
			case "SESeal":
				if r.Kind != "seal" {
					t.Fatalf("kind %q, want seal", r.Kind)
				}
				want(t, r.Seal.Checks, CheckSealSignature, e.Seal.SealSignatureValid)
				checkSealDetail(t, r.Seal.Checks, e.Seal)
				if st := status(r.Seal.Checks, CheckFormat); st != Passed {
					t.Errorf("format %s", st)
				}
			case "SES_Signature":
				if r.Kind != "signature" || len(r.Signatures) != 1 {
					t.Fatalf("kind %q with %d signatures, want one signature", r.Kind, len(r.Signatures))
				}
				checkSES(t, r.Signatures[0], e.SES)
				if o, ok := originals[e.File]; ok {
					want(t, r.Signatures[0].Checks, CheckDataHash, &o.match)
				}
			case "OFD":
				if r.Kind != "ofd" {
					t.Fatalf("kind %q, want ofd", r.Kind)
				}
				if len(e.Signatures) == 0 {
					if r.Indication != NoSignature {
						t.Errorf("indication %s, want %s", r.Indication, NoSignature)
					}
					return
				}
				if len(r.Signatures) != len(e.Signatures) {
					t.Fatalf("%d signatures, want %d", len(r.Signatures), len(e.Signatures))
				}
				for i, es := range e.Signatures {
					s := r.Signatures[i]
					typ := es.Entry.Type
					if typ == "" {
						typ = "Seal"
					}
					if s.ID != es.Entry.ID || s.Location != es.SignatureXML || s.Type != typ {
						t.Errorf("signature %d is %s %s %s, want %s %s %s", i, s.ID, s.Location, s.Type, es.Entry.ID, es.SignatureXML, typ)
					}
					refsOK := len(es.ReferencesBad) == 0
					want(t, s.Checks, CheckReferences, &refsOK)
					if d := detail(s.Checks, CheckReferences); refsOK && !strings.Contains(d, fmt.Sprintf("all %d references match", es.ReferencesOK)) {
						t.Errorf("references: %q, want all %d", d, es.ReferencesOK)
					}
					switch {
					case es.SES == nil || es.SES.SignatureValid == nil:
					case typ == "Sign":
						// GB/T 35275 SignedData: no seal, so only the signature and the digest.
						if st := status(s.Checks, CheckFormat); st != Passed {
							t.Errorf("format %s: %s", st, detail(s.Checks, CheckFormat))
						}
						want(t, s.Checks, CheckSignatureValue, es.SES.SignatureValid)
						want(t, s.Checks, CheckDataHash, es.SES.DocHashMatches)
					default:
						checkSES(t, s, es.SES)
						want(t, s.Checks, CheckDataHash, es.SES.DocHashMatches)
					}
				}
			default:
				t.Fatalf("unknown kind %q in expectations", e.Kind)
			}
		})
	}
}

func checkSES(t *testing.T, s SignatureReport, e *expSES) {
	t.Helper()
	if st := status(s.Checks, CheckFormat); st != Passed {
		t.Errorf("format %s: %s", st, detail(s.Checks, CheckFormat))
	}
	if e.TBSVersion != 0 && s.Version != e.TBSVersion {
		t.Errorf("version %d, want %d", s.Version, e.TBSVersion)
	}
	want(t, s.Checks, CheckSignatureValue, e.SignatureValid)
	if e.Seal == nil {
		t.Errorf("the expectations of a seal signature give no seal")
	} else {
		want(t, s.Checks, CheckSealSignature, e.Seal.SealSignatureValid)
		checkSealDetail(t, s.Checks, e.Seal)
	}
	if e.SignatureValid != nil && *e.SignatureValid {
		checkEncoding(t, detail(s.Checks, CheckSignatureValue), e.SigEncoding, e.SigNotes)
	}
	in := e.SignerCertInSealCertList
	if in == nil {
		in = e.SignerCertDigestInSealCertList
	}
	want(t, s.Checks, CheckSignerInSeal, in)
	want(t, s.Checks, CheckSealValidity, e.SignTimeWithinSealValidity)
	want(t, s.Checks, CheckSignerCertTime, e.SignTimeWithinSignerCertValidity)
	if s.Indication == TotalPassed {
		t.Errorf("TOTAL_PASSED without trust anchors")
	}
}

// want asserts a check passed (true) or failed (false); nil means the expectations say nothing.
func want(t *testing.T, checks []Check, name string, ok *bool) {
	t.Helper()
	if ok == nil {
		return
	}
	wantStatus := Failed
	if *ok {
		wantStatus = Passed
	}
	if st := status(checks, name); st != wantStatus {
		t.Errorf("%s is %s, want %s: %s", name, st, wantStatus, detail(checks, name))
	}
}

func status(checks []Check, name string) string {
	for _, c := range checks {
		if c.Name == name {
			return c.Status
		}
	}
	return "(missing)"
}

func detail(checks []Check, name string) string {
	for _, c := range checks {
		if c.Name == name {
			return c.Detail
		}
	}
	return ""
}

// checkSealDetail asserts that a valid seal signature verified over the message the
// expectations name, in the encoding they name.
func checkSealDetail(t *testing.T, checks []Check, e *expSeal) {
	t.Helper()
	if e.SealSignatureValid == nil || !*e.SealSignatureValid {
		return
	}
	d := detail(checks, CheckSealSignature)
	if e.OverInfo != nil && *e.OverInfo && !strings.Contains(d, "over DER(SES_SealInfo)") {
		t.Errorf("seal signature: %q, want over DER(SES_SealInfo)", d)
	}
	if e.OverSeq != nil && *e.OverSeq && !strings.Contains(d, "over DER(SEQUENCE{SES_SealInfo, cert, alg})") {
		t.Errorf("seal signature: %q, want over DER(SEQUENCE{SES_SealInfo, cert, alg})", d)
	}
	checkEncoding(t, d, e.SigEncoding, e.SigNotes)
}

// checkEncoding asserts that a signature's detail names its encoding as the expectations do.
func checkEncoding(t *testing.T, d, enc string, notes []string) {
	t.Helper()
	switch {
	case enc == "raw r||s":
		if !strings.Contains(d, "64 raw bytes, accepted as r||s") {
			t.Errorf("%q does not name the raw r||s encoding", d)
		}
	case enc == "DER" && len(notes) == 0:
		if strings.Contains(d, "accepted") {
			t.Errorf("%q names a leniency for a strict DER value", d)
		}
	}
	for _, n := range notes {
		if strings.HasPrefix(n, "negative INTEGER") && !strings.Contains(d, "a "+n+" read as unsigned") {
			t.Errorf("%q does not name the %s", d, n)
		}
	}
}
