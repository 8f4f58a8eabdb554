package sealimg

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

func encoded(t testing.TB, format string, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			if (x-w/2)*(x-w/2)+(y-h/2)*(y-h/2) < w*w/5 {
				img.SetNRGBA(x, y, color.NRGBA{0xe6, 0, 0, 0xff})
			}
		}
	}
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, nil)
	case "gif":
		err = gif.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngWithSize is a valid small PNG whose header claims w × h.
func pngWithSize(t testing.TB, w, h uint32) []byte {
	p := encoded(t, "png", 100, 100)
	out := append([]byte(nil), p...)
	be := func(b []byte, v uint32) { b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v) }
	be(out[16:], w)
	be(out[20:], h)
	// Fix the IHDR CRC so the header itself is well-formed.
	be(out[29:], crc(out[12:29]))
	return out
}

func crc(b []byte) uint32 {
	c := ^uint32(0)
	for _, x := range b {
		c ^= uint32(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xedb88320
			} else {
				c >>= 1
			}
		}
	}
	return ^c
}

const goodSVG = `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="42mm" height="42mm" viewBox="0 0 42 42">
<circle cx="21" cy="21" r="20" fill="none" stroke="#E60000" stroke-width="1.2"/>
</svg>`

func TestCheckImpression(t *testing.T) {
	pngOK := encoded(t, "png", 400, 400)
	tests := []struct {
		name   string
		data   []byte
		format string // want, if ok
		w, h   int
		want   string // error text, if not ok
	}{
		{"png", pngOK, "png", 400, 400, ""},
		{"jpeg", encoded(t, "jpeg", 300, 200), "jpeg", 300, 200, ""},
		{"gif", encoded(t, "gif", 150, 150), "gif", 150, 150, ""},
		{"svg", []byte(goodSVG), "svg", 159, 159, ""},
		{"svg with BOM and px", []byte("\xef\xbb\xbf <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"500\" height=\"400px\"/>"), "svg", 500, 400, ""},
		{"svg with own href", []byte(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40mm" height="40mm"><defs><path id="a" d="M0 0"/></defs><use xlink:href="#a"/></svg>`), "svg", 151, 151, ""},
		{"empty", nil, "", 0, 0, "sealimg: impression: empty"},
		{"text", []byte("this is not a picture"), "", 0, 0, "not a PNG, JPEG, GIF or SVG picture"},
		{"pdf", []byte("%PDF-1.7\n"), "", 0, 0, "not a PNG, JPEG, GIF or SVG picture"},
		{"truncated png", pngOK[:len(pngOK)/2], "", 0, 0, "png picture does not decode"},
		{"png header only", pngOK[:40], "", 0, 0, "does not decode"},
		{"broken jpeg", []byte("\xff\xd8\xff\xe0garbage"), "", 0, 0, "not a readable jpeg picture"},
		{"too small", encoded(t, "png", 50, 50), "", 0, 0, "png width of 50 pixels, want 100 to 10000"},
		{"too wide", encoded(t, "png", 400, 100), "", 0, 0, "more than 3 times as long"},
		{"huge header", pngWithSize(t, 60000, 60000), "", 0, 0, "width of 60000 pixels"},
		{"many pixels", pngWithSize(t, 9000, 9000), "", 0, 0, "at most 40000000 pixels"},
		{"too many bytes", append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 11<<20)...), "", 0, 0, "bytes, at most"},
		{"html", []byte(`<html><body>hi</body></html>`), "", 0, 0, "root is <html>, not <svg>"},
		{"svg without size", []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"/>`), "", 0, 0, "without width and height"},
		{"svg in percent", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="100%"/>`), "", 0, 0, "not a positive length"},
		{"svg negative", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="-40mm" height="40mm"/>`), "", 0, 0, "not a positive length"},
		{"svg tiny", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="2mm" height="2mm"/>`), "", 0, 0, "svg width of 2.0 mm, want 10 to 200 mm"},
		{"svg unclosed", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm"><g>`), "", 0, 0, "not well-formed"},
		{"svg script", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm"><script>alert(1)</script></svg>`), "", 0, 0, "<script> element"},
		{"svg onload", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm" onload="alert(1)"/>`), "", 0, 0, "event handler attribute (onload)"},
		{"svg doctype", []byte(`<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm"/>`), "", 0, 0, "document type declaration"},
		{"svg outside image", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm"><image href="https://example.com/x.png"/></svg>`), "", 0, 0, "outside resource"},
		{"svg other namespace", []byte(`<svg xmlns="urn:other" width="40mm" height="40mm"/>`), "", 0, 0, "not <svg>"},
		{"svg two roots", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm"/><svg/>`), "", 0, 0, "more than one root"},
		{"svg latin1", []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm"/>`), "", 0, 0, "only UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im, err := CheckImpression(tt.data)
			if tt.format != "" {
				if err != nil {
					t.Fatal(err)
				}
				if im.Format != tt.format || im.Width != tt.w || im.Height != tt.h || !bytes.Equal(im.Data, tt.data) {
					t.Errorf("got %s %d × %d, want %s %d × %d", im.Format, im.Width, im.Height, tt.format, tt.w, tt.h)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "impression" {
				t.Fatalf("error %v, want a *FieldError for impression", err)
			}
			if !strings.HasPrefix(err.Error(), "sealimg: impression: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestImpressionLimits(t *testing.T) {
	l := ImpressionLimits{MinSide: 10, MaxSide: 60, MaxRatio: 1.5}
	if _, err := l.Check(encoded(t, "png", 50, 40)); err != nil {
		t.Error(err)
	}
	if _, err := l.Check(encoded(t, "png", 50, 30)); err == nil {
		t.Error("ratio 5:3 accepted with MaxRatio 1.5")
	}
	if _, err := l.Check(encoded(t, "png", 70, 70)); err == nil {
		t.Error("70 pixels accepted with MaxSide 60")
	}
}

// FuzzCheckImpression feeds arbitrary bytes to the checker: it must never
// panic, and whatever it accepts must be within the limits.
func FuzzCheckImpression(f *testing.F) {
	f.Add(encoded(f, "png", 120, 120))
	f.Add(encoded(f, "jpeg", 120, 120))
	f.Add(encoded(f, "gif", 120, 120))
	f.Add([]byte(goodSVG))
	f.Add(pngWithSize(f, 60000, 60000))
	f.Add([]byte(`<svg xmlns="http://www.w3.org/2000/svg" width="1e308in" height="40mm"/>`))
	f.Add([]byte("<svg width='40mm' height='40mm'><![CDATA[x]]><!-- c --><?pi x?></svg>"))
	f.Add([]byte("GIF89a"))
	f.Add([]byte("\xff\xd8"))
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := CheckImpression(data)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "impression" {
				t.Fatalf("error %v is not a *FieldError for impression", err)
			}
			return
		}
		l := DefaultImpressionLimits
		long, short := max(im.Width, im.Height), min(im.Width, im.Height)
		if float64(long) > l.MaxRatio*float64(short) {
			t.Fatalf("accepted %d × %d", im.Width, im.Height)
		}
		if im.Format != "svg" && (short < l.MinSide || long > l.MaxSide) {
			t.Fatalf("accepted %s %d × %d", im.Format, im.Width, im.Height)
		}
		if !bytes.Equal(im.Data, data) {
			t.Fatal("data changed")
		}
	})
}
