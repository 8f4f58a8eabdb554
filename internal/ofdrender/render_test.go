package ofdrender

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"strings"
	"testing"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ofd"
)

// A page with nothing on it renders white, at its size at 96 dpi.
func TestBlankPageIsWhite(t *testing.T) {
	pg, err := renderer(t).RenderPage(open(t, onePage(t, "")), 1)
	if err != nil {
		t.Fatal(err)
	}
	b := pg.Image.Bounds()
	if b.Dx() != 794 || b.Dy() != 1123 {
		t.Errorf("A4 at 96 dpi is %v, want 794 × 1123", b.Size())
	}
	if n := count(pg.Image, b, func(c color.RGBA) bool { return !isWhite(c) }); n != 0 {
		t.Errorf("%d pixels of a blank page are not white", n)
	}
	if pg.WidthMM != 210 || pg.HeightMM != 297 {
		t.Errorf("size %g × %g mm, want 210 × 297", pg.WidthMM, pg.HeightMM)
	}
}

// The esl-demo vector: a white page with one stamp at 51.6785 38.1834, 40 × 40 mm.
func TestVectorStampInBoundary(t *testing.T) {
	p := open(t, testvectors.Read(t, "esl-demo/test.ofd"))
	pg, err := renderer(t).RenderPage(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	in := mmRect(51.6785, 38.1834, 40, 40)
	red := count(pg.Image, in, isRed)
	if red < in.Dx()*in.Dy()/20 {
		t.Errorf("%d red pixels inside the stamp's boundary %v, want at least a twentieth of it", red, in)
	}
	near := in.Inset(-2) // pixels cut by the boundary's edge
	if n := count(pg.Image, pg.Image.Bounds(), isRed) - count(pg.Image, near, isRed); n != 0 {
		t.Errorf("%d red pixels outside the stamp's boundary", n)
	}
}

// The ofd.js vector n.ofd: the red title, dark text where its TextObjects are, white margins.
func TestVectorText(t *testing.T) {
	p := open(t, testvectors.Read(t, "ofd.js/public/n.ofd"))
	pg, err := renderer(t).RenderPage(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	title := mmRect(39.14, 37.0, 133.71, 16.17) // TextObject 1003, #ee2025
	if n := count(pg.Image, title, isRed); n < title.Dx()*title.Dy()/10 {
		t.Errorf("%d red pixels in the title's boundary, want at least a tenth", n)
	}
	number := mmRect(80.98, 73.61, 50.04, 5.88) // TextObject 1004: 路卫发〔2011〕76号, black
	if n := count(pg.Image, number, isDark); n < number.Dx()*number.Dy()/20 {
		t.Errorf("%d dark pixels in TextObject 1004's boundary, want at least a twentieth", n)
	}
	margin := mmRect(0, 0, 25, 297)
	if n := count(pg.Image, margin, func(c color.RGBA) bool { return !isWhite(c) }); n != 0 {
		t.Errorf("%d pixels of the left margin are not white", n)
	}
	rule := mmRect(28, 83.2, 156, 1.2) // PathObject 1005: a red rule stroked 0.35 mm
	if n := count(pg.Image, rule, isRed); n < rule.Dx() {
		t.Errorf("%d red pixels along the rule, want at least its length (%d)", n, rule.Dx())
	}
}

// The ofd.js vector h.ofd carries a cross-page seal (Clip "0 0 8 40" on page 1, at 202 128.5):
// the stamp shows only in its clip, right of x = 202 mm.
func TestVectorClip(t *testing.T) {
	p := open(t, testvectors.Read(t, "ofd.js/public/h.ofd"))
	pg, err := renderer(t).RenderPage(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	strip := mmRect(202, 128.5, 8, 40)
	if n := count(pg.Image, strip, isRed); n == 0 {
		t.Error("no red pixels in the strip of the cross-page seal")
	}
	left := mmRect(145, 128.5, 56, 40) // the rest of the stamp's boundary on the page: clipped away
	left.Max.X = mmRect(201.5, 0, 0, 0).Min.X
	if n := count(pg.Image, left, isRed); n != 0 {
		t.Errorf("%d red pixels left of the cross-page seal's clip", n)
	}
}

func TestPaths(t *testing.T) {
	layer := `<ofd:PathObject ID="4" Boundary="10 10 50 30" Fill="true" Stroke="false"><ofd:FillColor Value="0 0 255"/><ofd:AbbreviatedData>M 0 0 L 50 0 L 50 30 L 0 30 C</ofd:AbbreviatedData></ofd:PathObject>` +
		`<ofd:PathObject ID="5" Boundary="100 10 40 40" Fill="true" Stroke="false"><ofd:FillColor Value="#0 #ff #0"/><ofd:AbbreviatedData>M 0 20 A 20 20 0 1 1 40 20 A 20 20 0 1 1 0 20 C</ofd:AbbreviatedData></ofd:PathObject>` +
		`<ofd:PathObject ID="6" Boundary="10 100 190 1" LineWidth="1"><ofd:StrokeColor Value="255 0 0"/><ofd:AbbreviatedData>S 0 0.5 L 190 0.5</ofd:AbbreviatedData></ofd:PathObject>` +
		`<ofd:PathObject ID="7" Boundary="10 150 60 60" Fill="true" Stroke="false" CTM="0.5 0 0 0.5 0 0"><ofd:AbbreviatedData>M 0 0 B 120 0 120 120 0 120 Q 60 60 0 0 Z</ofd:AbbreviatedData></ofd:PathObject>`
	pg, err := renderer(t).RenderPage(open(t, onePage(t, layer)), 1)
	if err != nil {
		t.Fatal(err)
	}
	img := pg.Image
	blue := func(c color.RGBA) bool { return c.B == 255 && c.R == 0 && c.G == 0 }
	green := func(c color.RGBA) bool { return c.G == 255 && c.R == 0 && c.B == 0 }
	tests := []struct {
		name string
		r    [4]float64
		f    func(color.RGBA) bool
		want string // "all", "none" or "some"
	}{
		{"rectangle inside", [4]float64{11, 11, 48, 28}, blue, "all"},
		{"rectangle outside", [4]float64{0, 0, 9, 300}, blue, "none"},
		{"circle centre", [4]float64{115, 25, 10, 10}, green, "all"},
		{"circle corner", [4]float64{100, 10, 4, 4}, green, "none"},
		{"stroked line", [4]float64{20, 100, 170, 1}, isRed, "some"},
		{"above the line", [4]float64{20, 96, 170, 3}, isRed, "none"},
		{"curve under CTM", [4]float64{15, 160, 10, 15}, isDark, "some"},
		{"curve beyond CTM scale", [4]float64{57, 150, 20, 60}, isDark, "none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mmRect(tc.r[0], tc.r[1], tc.r[2], tc.r[3])
			n, all := count(img, r, tc.f), r.Dx()*r.Dy()
			switch {
			case tc.want == "all" && n != all:
				t.Errorf("%d of %d pixels, want all", n, all)
			case tc.want == "none" && n != 0:
				t.Errorf("%d of %d pixels, want none", n, all)
			case tc.want == "some" && n == 0:
				t.Errorf("no pixel, want some")
			}
		})
	}
}

func TestTextGForm(t *testing.T) {
	got, err := deltas("1 g 3 2.5 4", 10)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[1 2.5 2.5 2.5 4]" {
		t.Errorf("deltas = %v", got)
	}
	if _, err := deltas("g 3", 10); err == nil {
		t.Error("a g without its value is accepted")
	}
	// Two characters 30 mm apart by a g form: the second one lands there.
	layer := `<ofd:TextObject ID="4" Boundary="20 20 100 20" Font="2" Size="10"><ofd:TextCode X="0" Y="10" DeltaX="g 1 60">国国</ofd:TextCode></ofd:TextObject>`
	pg, err := renderer(t).RenderPage(open(t, onePage(t, layer)), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		x    float64
		want bool
	}{{20, true}, {50, false}, {80, true}, {110, false}} {
		n := count(pg.Image, mmRect(c.x, 20, 10, 12), isDark)
		if (n > 0) != c.want {
			t.Errorf("dark pixels at x = %g mm: %d, want some: %v", c.x, n, c.want)
		}
	}
}

func TestErrors(t *testing.T) {
	deep := strings.Repeat("<ofd:PageBlock>", 300) + strings.Repeat("</ofd:PageBlock>", 300)
	many := strings.Repeat(`<ofd:PathObject ID="4" Boundary="10 10 1 1"><ofd:AbbreviatedData>M 0 0 L 1 1</ofd:AbbreviatedData></ofd:PathObject>`, 50)
	tests := []struct {
		name string
		data []byte
		page int
		opt  Options
		kind errs.Kind
	}{
		{"page 0", onePage(t, ""), 0, Options{}, errs.InvalidInput},
		{"page out of range", onePage(t, ""), 2, Options{}, errs.InvalidInput},
		{"no OFD.xml", makeOFD(t, "a.txt", "x"), 1, Options{}, errs.FileMissing},
		{"broken content", makeOFD(t, "OFD.xml", testOFDXML, "Doc_0/Document.xml", testDocXML, "Doc_0/Pages/Page_0/Content.xml", "<ofd:Page><a>"), 1, Options{}, errs.Malformed},
		{"page file missing", makeOFD(t, "OFD.xml", testOFDXML, "Doc_0/Document.xml", testDocXML), 1, Options{}, errs.FileMissing},
		{"path leaves the root", makeOFD(t, "OFD.xml", strings.Replace(testOFDXML, "Doc_0/Document.xml", "../../x.xml", 1)), 1, Options{}, errs.BadPath},
		{"too deep", onePage(t, deep), 1, Options{}, errs.LimitExceeded},
		{"too many pixels", onePage(t, ""), 1, Options{MaxPixels: 1000}, errs.LimitExceeded},
		{"too many objects", onePage(t, many), 1, Options{MaxObjects: 10}, errs.LimitExceeded},
		{"too much work", onePage(t, many), 1, Options{MaxWork: 100}, errs.LimitExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := renderer(t)
			if tc.opt != (Options{}) {
				var err error
				if r, err = New(tc.opt); err != nil {
					t.Fatal(err)
				}
			}
			p, err := ofd.Open(tc.data, ofd.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.RenderPage(p, tc.page)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want kind %s", err, tc.kind.Code())
			}
		})
	}
}

// Objects that cannot be drawn are left out and named; coordinates far off the page are
// clamped (the page renders).
func TestBadObjectsNoted(t *testing.T) {
	layer := `<ofd:PathObject ID="4" Boundary="10 10 1 1"><ofd:AbbreviatedData>M 0 0 X 1 1</ofd:AbbreviatedData></ofd:PathObject>` +
		`<ofd:TextObject ID="5" Boundary="0 0 1 1" Size="-3"><ofd:TextCode X="0" Y="0">a</ofd:TextCode></ofd:TextObject>` +
		`<ofd:ImageObject ID="6" Boundary="0 0 10 10" ResourceID="99" CTM="10 0 0 10 0 0"/>` +
		`<ofd:PathObject ID="7" Boundary="0 0 1 1" Fill="true"><ofd:AbbreviatedData>M -900000000 -900000000 L 900000000 -900000000 L 900000000 900000000 L 0 900000000 C</ofd:AbbreviatedData></ofd:PathObject>` +
		`<ofd:PathObject ID="8" Boundary="0 0 1 1" Fill="true"><ofd:AbbreviatedData>M 0 0 L NaN 3 C</ofd:AbbreviatedData></ofd:PathObject>`
	pg, err := renderer(t).RenderPage(open(t, onePage(t, layer)), 1)
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(pg.Notes, "\n")
	for _, want := range []string{"object 4", "object 5", "object 6", "object 8"} {
		if !strings.Contains(notes, want+" not drawn") {
			t.Errorf("notes do not name %s:\n%s", want, notes)
		}
	}
	// Object 7 covers the page's lower-left half triangle and more: most of the page is dark.
	if n := count(pg.Image, mmRect(5, 200, 100, 90), isDark); n == 0 {
		t.Error("the huge path draws nothing where it covers the page")
	}
}

func TestNewOptions(t *testing.T) {
	for _, o := range []Options{{DPI: 5}, {DPI: 5000}, {FontPath: "/nonexistent/font.ttf"}, {FontIndex: 99}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// OfdSharp's invoice: its seal picture is itself an OFD package (drawn at 90 9, 30 × 20 mm), its
// table is a template page under the page's content.
func TestVectorOFDPictureAndTemplate(t *testing.T) {
	p := open(t, testvectors.Read(t, "OfdSharp/src/UnitTests/Files/test.ofd"))
	pg, err := renderer(t).RenderPage(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	stamp := mmRect(90, 9, 30, 20)
	if n := count(pg.Image, stamp, isRed); n < stamp.Dx()*stamp.Dy()/20 {
		t.Errorf("%d red pixels in the OFD seal picture's boundary, want at least a twentieth", n)
	}
	if n := count(pg.Image, pg.Image.Bounds(), isRed) - count(pg.Image, stamp.Inset(-2), isRed); n != 0 {
		t.Errorf("%d red pixels outside the stamp", n)
	}
	frame := mmRect(3.5, 60, 2, 40) // the table's left edge, drawn by the template page only
	if n := count(pg.Image, frame, func(c color.RGBA) bool { return !isWhite(c) }); n < frame.Dy() {
		t.Errorf("%d inked pixels where the template's table edge runs, want at least %d", n, frame.Dy())
	}
	if len(pg.Notes) != 0 {
		t.Errorf("notes: %q", pg.Notes)
	}
}

// signedPage builds a one-page package carrying one signature whose SES signature comes from
// the esl-demo vector, with one StampAnnot of the given Boundary and Clip on page 1.
func signedPage(t *testing.T, layer, boundary, clip string) []byte {
	t.Helper()
	sv, err := open(t, testvectors.Read(t, "esl-demo/test.ofd")).ReadFile("Doc_0/Signs/Sign_0/SignedValue.dat")
	if err != nil {
		t.Fatal(err)
	}
	ofdXML := strings.Replace(testOFDXML, "</ofd:DocRoot>", "</ofd:DocRoot><ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures>", 1)
	sigs := `<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016"><ofd:MaxSignId>1</ofd:MaxSignId><ofd:Signature ID="1" Type="Seal" BaseLoc="Sign_0/Signature.xml"/></ofd:Signatures>`
	sig := `<?xml version="1.0" encoding="UTF-8"?><ofd:Signature xmlns:ofd="http://www.ofdspec.org/2016"><ofd:SignedInfo><ofd:Provider ProviderName="t"/>` +
		`<ofd:StampAnnot ID="1" PageRef="1" Boundary="` + boundary + `" Clip="` + clip + `"/></ofd:SignedInfo><ofd:SignedValue>SignedValue.dat</ofd:SignedValue></ofd:Signature>`
	content := `<?xml version="1.0" encoding="UTF-8"?>
<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer ID="3">` + layer + `</ofd:Layer></ofd:Content></ofd:Page>`
	return makeOFD(t, "OFD.xml", ofdXML, "Doc_0/Document.xml", testDocXML, "Doc_0/PublicRes.xml", testResXML,
		"Doc_0/Pages/Page_0/Content.xml", content, "Doc_0/Signs/Signatures.xml", sigs,
		"Doc_0/Signs/Sign_0/Signature.xml", sig, "Doc_0/Signs/Sign_0/SignedValue.dat", string(sv))
}

// A stamp is ink: it darkens what lies under it (black stays black) and shows red on white;
// its Clip, relative to its Boundary, limits it.
func TestStampInkAndClip(t *testing.T) {
	black := `<ofd:PathObject ID="4" Boundary="50 50 40 40" Fill="true" Stroke="false"><ofd:AbbreviatedData>M 0 0 L 40 0 L 40 40 L 0 40 C</ofd:AbbreviatedData></ofd:PathObject>`
	pg, err := renderer(t).RenderPage(open(t, signedPage(t, black, "50 100 40 40", "0 0 20 40")), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Notes) != 0 {
		t.Errorf("notes: %q", pg.Notes)
	}
	if n := count(pg.Image, mmRect(50, 100, 20, 40), isRed); n == 0 {
		t.Error("no red in the stamp's clip")
	}
	if n := count(pg.Image, mmRect(71, 95, 30, 50), isRed); n != 0 {
		t.Errorf("%d red pixels right of the stamp's clip", n)
	}
	pg, err = renderer(t).RenderPage(open(t, signedPage(t, black, "50 50 40 40", "")), 1)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(pg.Image, mmRect(50.5, 50.5, 39, 39), func(c color.RGBA) bool { return !isDark(c) }); n != 0 {
		t.Errorf("%d pixels of the black square under the stamp are no longer dark", n)
	}
}

// One Renderer draws pages from several goroutines at once, each as it draws it alone.
func TestConcurrentRendering(t *testing.T) {
	r := renderer(t)
	names := []string{"esl-demo/test.ofd", "ofd.js/public/n.ofd", "OfdSharp/src/UnitTests/Files/test.ofd"}
	var pkgs []*ofd.Package
	var want [][]byte
	for _, n := range names {
		p := open(t, testvectors.Read(t, n))
		pg, err := r.RenderPage(p, 1)
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
		want = append(want, pg.Image.Pix)
	}
	errc := make(chan error, 2*len(names))
	for range 2 {
		for i := range names {
			go func() {
				pg, err := r.RenderPage(pkgs[i], 1)
				switch {
				case err != nil:
					errc <- err
				case !bytes.Equal(pg.Image.Pix, want[i]):
					errc <- fmt.Errorf("%s: drawn differently at the same time as others", names[i])
				default:
					errc <- nil
				}
			}()
		}
	}
	for range 2 * len(names) {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}

// A page of many objects that each cover the page stops at the default work limit with an
// error that names it, instead of drawing all of them.
func TestDefaultWorkLimit(t *testing.T) {
	many := strings.Repeat(`<ofd:PathObject ID="4" Boundary="0 0 210 297" Fill="true"><ofd:AbbreviatedData>M 0 0 L 210 0 L 210 297 L 0 297 C</ofd:AbbreviatedData></ofd:PathObject>`, 1000)
	_, err := renderer(t).RenderPage(open(t, onePage(t, many)), 1)
	if !errors.Is(err, errs.LimitExceeded) {
		t.Fatalf("err = %v, want the work limit", err)
	}
}

// The ofd-go bank receipt's seal picture is a BMP on white: drawn as ink, red inside its
// boundary, the table's lines still dark under it.
func TestVectorBMPStamp(t *testing.T) {
	p := open(t, testvectors.Read(t, "ofd-go/samples/DZHD_1605281110201000001_202205250016050102202100000069141950_20220525_000413.ofd"))
	pg, err := renderer(t).RenderPage(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Notes) != 0 {
		t.Errorf("notes: %q", pg.Notes)
	}
	stamp := mmRect(143.63, 93.13, 41.78, 35.95)
	if n := count(pg.Image, stamp, isRed); n < stamp.Dx()*stamp.Dy()/50 {
		t.Errorf("%d red pixels in the BMP stamp's boundary, want at least a fiftieth", n)
	}
}
