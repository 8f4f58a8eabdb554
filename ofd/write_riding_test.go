package ofd_test

import (
	"strings"
	"testing"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/ofd"
)

func TestRidingSeal(t *testing.T) {
	p := testPKI(t)
	// Page 2 is landscape by its own Area; the others take the document's A4 PageArea.
	landscape := strings.Replace(textPage("第二页"), `<ofd:Content>`, `<ofd:Area><ofd:PhysicalBox>0 0 297 210</ofd:PhysicalBox></ofd:Area><ofd:Content>`, 1)
	data := rezip(t, licence(page{"1", textPage("第一页")}, page{"5", landscape}, page{"9", textPage("第三页")}, page{"12", textPage("第四页")}))
	for _, tc := range []struct {
		name  string
		pl    ofd.Placement
		pages []string
		boxes [][4]float64
		clips []string
	}{
		{"pages 1-3 centred", ofd.Placement{RidingFrom: 1, RidingTo: 3}, []string{"1", "5", "9"},
			[][4]float64{{210 - 14, 148.5 - 21, 42, 42}, {297 - 28, 105 - 21, 42, 42}, {210 - 42, 148.5 - 21, 42, 42}},
			[]string{"0 0 14 42", "14 0 14 42", "28 0 14 42"}},
		{"pages 3-4 at y 50", ofd.Placement{RidingFrom: 3, RidingTo: 4, Y: 50}, []string{"9", "12"},
			[][4]float64{{210 - 21, 50 - 21, 42, 42}, {210 - 42, 50 - 21, 42, 42}},
			[]string{"0 0 21 42", "21 0 21 42"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, d := p.mustSign(t, data, 0, ofd.SignOptions{Placement: tc.pl, Width: 42, Height: 42, Seal: p.seals[0].Raw})
			pkg, err := ofd.Open(out, ofd.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			sigs, err := pkg.Signatures()
			if err != nil || len(sigs) != 1 {
				t.Fatalf("%d signatures, %v", len(sigs), err)
			}
			annots := sigs[0].StampAnnots
			if len(annots) != len(tc.pages) {
				t.Fatalf("%d stamps, want %d", len(annots), len(tc.pages))
			}
			for i, a := range annots {
				if a.PageRef != tc.pages[i] || a.Boundary != tc.boxes[i] || a.Clip != tc.clips[i] {
					t.Errorf("stamp %d: page %s, Boundary %v, Clip %q; want page %s, %v, %q", i+1, a.PageRef, a.Boundary, a.Clip, tc.pages[i], tc.boxes[i], tc.clips[i])
				}
			}
			mustPass(t, p.report(t, out), d.Path())
		})
	}
	for _, tc := range []struct {
		name  string
		pl    ofd.Placement
		kind  errs.Kind
		words []string
	}{
		{"past the last page", ofd.Placement{RidingFrom: 3, RidingTo: 5}, errs.InvalidInput, []string{"3-5", "4 page"}},
		{"one page", ofd.Placement{RidingFrom: 2, RidingTo: 2}, errs.InvalidInput, []string{"2-2"}},
		{"with an X", ofd.Placement{RidingFrom: 1, RidingTo: 2, X: 3}, errs.InvalidInput, []string{"X"}},
		{"below the page", ofd.Placement{RidingFrom: 1, RidingTo: 2, Y: 400}, errs.InvalidInput, []string{"400"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := p.sign(t, data, 0, ofd.SignOptions{Placement: tc.pl})
			wantErr(t, err, tc.kind, tc.words...)
		})
	}
}

func TestPositionOffPage(t *testing.T) {
	p := testPKI(t)
	_, _, err := p.sign(t, rezip(t, licence()), 0, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 211, Y: 100}})
	wantErr(t, err, errs.InvalidInput, "211", "210 × 297")
}
