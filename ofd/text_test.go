package ofd

import (
	"slices"
	"testing"
)

func TestDeltas(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want []float64
	}{
		{"1 2 3", 5, []float64{1, 2, 3}},
		{"1 2 3", 2, []float64{1, 2}},
		{"g 3 1.5 2", 10, []float64{1.5, 1.5, 1.5, 2}},
		{"1 g 1000000000 2", 4, []float64{1, 2, 2, 2}},
		{"g 2", 4, nil},
		{"1 x 2", 4, []float64{1}},
		{"1,2", 4, []float64{1, 2}},
		{"", 4, nil},
	} {
		if got := deltas(tc.in, tc.max); !slices.Equal(got, tc.want) {
			t.Errorf("deltas(%q, %d) = %v, want %v", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestFindKeywordUsesGlyphBoxes(t *testing.T) {
	s := &textState{ctm: [6]float64{1, 0, 0, 1, 0, 0}, size: 4}
	var gs []glyph
	for i, r := range []rune("ab盖章c") {
		gs = append(gs, s.box(r, float64(i*4), 10))
	}
	x, y, ok := findKeyword(gs, "盖章")
	// glyph runes are indexed by rune, not byte: 盖 is glyph 2 (x 8), 章 glyph 3 (x 12..16).
	if !ok || x != 12 || y != 8 {
		t.Fatalf("centre (%v, %v) %v, want (12, 8)", x, y, ok)
	}
	if _, _, ok := findKeyword(gs, "章盖"); ok {
		t.Fatal("found a keyword that is not there")
	}
}
