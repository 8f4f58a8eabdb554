package ofdrender

import (
	"testing"

	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ofd"
)

// FuzzRenderPage renders page 1 of any package: errors are fine, panics and hangs are not.
func FuzzRenderPage(f *testing.F) {
	f.Add(onePage(f, `<ofd:PathObject ID="4" Boundary="10 10 50 30" Fill="true"><ofd:AbbreviatedData>M 0 0 L 50 0 A 5 5 0 1 1 50 30 B 1 2 3 4 5 6 Q 1 1 0 30 C</ofd:AbbreviatedData></ofd:PathObject>`+
		`<ofd:TextObject ID="5" Boundary="20 20 100 20" Font="2" Size="10" CTM="1 0 0.2 1 0 0"><ofd:FillColor Value="#ee #20 #25" Alpha="128"/><ofd:TextCode X="0" Y="10" DeltaX="g 2 5 1">国a国</ofd:TextCode></ofd:TextObject>`))
	f.Add(testvectors.Read(f, "esl-demo/test.ofd"))
	opts := Options{DPI: 24, MaxWork: 50_000_000, MaxObjects: 20_000}
	r, err := New(opts)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ofd.Open(data, ofd.Limits{MaxTotalSize: 8 << 20, MaxEntrySize: 4 << 20})
		if err != nil {
			return
		}
		pg, err := r.RenderPage(p, 1)
		if err == nil && pg.Image == nil {
			t.Fatal("no image and no error")
		}
	})
}
