package ofdrender

import (
	"archive/zip"
	"bytes"
	"image"
	"image/color"
	"sync"
	"testing"

	"github.com/eseal/eseal/ofd"
)

var (
	sharedOnce sync.Once
	shared     *Renderer
	sharedErr  error
)

// renderer returns a Renderer at 96 dpi with the default font, made once.
func renderer(t testing.TB) *Renderer {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = New(Options{}) })
	if sharedErr != nil {
		t.Fatalf("New: %v", sharedErr)
	}
	return shared
}

// makeOFD zips files (path → content) in the given order.
func makeOFD(t testing.TB, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		f, err := w.Create(files[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(files[i+1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const (
	testOFDXML = `<?xml version="1.0" encoding="UTF-8"?>
<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.1" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>t</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>`
	testDocXML = `<?xml version="1.0" encoding="UTF-8"?>
<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:CommonData><ofd:MaxUnitID>9</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData><ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>`
	testResXML = `<?xml version="1.0" encoding="UTF-8"?>
<ofd:Res xmlns:ofd="http://www.ofdspec.org/2016" BaseLoc="Res"><ofd:Fonts><ofd:Font ID="2" FontName="宋体"/></ofd:Fonts></ofd:Res>`
)

// onePage builds a one-page A4 package whose page content is layer (the
// inside of one <ofd:Layer>), plus any further files.
func onePage(t testing.TB, layer string, more ...string) []byte {
	t.Helper()
	content := `<?xml version="1.0" encoding="UTF-8"?>
<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer ID="3">` + layer + `</ofd:Layer></ofd:Content></ofd:Page>`
	files := append([]string{"OFD.xml", testOFDXML, "Doc_0/Document.xml", testDocXML,
		"Doc_0/PublicRes.xml", testResXML, "Doc_0/Pages/Page_0/Content.xml", content}, more...)
	return makeOFD(t, files...)
}

func open(t testing.TB, data []byte) *ofd.Package {
	t.Helper()
	p, err := ofd.Open(data, ofd.Limits{})
	if err != nil {
		t.Fatalf("ofd.Open: %v", err)
	}
	return p
}

// mmRect converts a rectangle in millimetres to pixels at 96 dpi.
func mmRect(x, y, w, h float64) image.Rectangle {
	k := 96 / 25.4
	return image.Rect(int(x*k), int(y*k), int((x+w)*k), int((y+h)*k))
}

// count counts the pixels of r in img for which f holds.
func count(img *image.RGBA, r image.Rectangle, f func(color.RGBA) bool) int {
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if f(img.RGBAAt(x, y)) {
				n++
			}
		}
	}
	return n
}

func isRed(c color.RGBA) bool   { return c.R > 180 && c.G < 120 && c.B < 120 }
func isDark(c color.RGBA) bool  { return int(c.R)+int(c.G)+int(c.B) < 200 }
func isWhite(c color.RGBA) bool { return c.R == 255 && c.G == 255 && c.B == 255 && c.A == 255 }
