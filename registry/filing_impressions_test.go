package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/store"
)

func filingStore(t testing.TB) *store.Pebble {
	t.Helper()
	db, err := store.Open(t.TempDir()+"/db", &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// filingPNG draws a w×h PNG whose pixels depend on seed.
func filingPNG(t testing.TB, w, h int, seed byte) []byte {
	t.Helper()
	im := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			im.Set(x, y, color.NRGBA{R: 230, G: seed, B: byte(x ^ y), A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const filingSVG = `<svg xmlns="http://www.w3.org/2000/svg" width="42mm" height="42mm" viewBox="0 0 42 42"><circle cx="21" cy="21" r="20" fill="none" stroke="red"/></svg>`

func filingLine(code string, pic []byte, typ string) string {
	m := map[string]any{"code": code, "picture": base64.StdEncoding.EncodeToString(pic)}
	if typ != "" {
		m["type"] = typ
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestImpressionImport(t *testing.T) {
	ctx := context.Background()
	db := filingStore(t)
	imps := NewImpressionStore(db, ImpressionOptions{Now: func() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) }})
	pngA := filingPNG(t, 200, 200, 1)
	pngB := filingPNG(t, 200, 200, 2)
	lines := []string{
		filingLine("4601000012345", pngA, "png"), // 1 good
		`{"code":"4601000054321","picture":"` + base64.StdEncoding.EncodeToString([]byte(filingSVG)) + `","type":"svg","unit":"ignored"}`, // 2 good svg
		``,                               // 3 empty
		`not json`,                       // 4
		filingLine("4601/000", pngA, ""), // 5 bad code
		filingLine("4601000099999", []byte("GIF89a nonsense"), ""), // 6 bad picture
		filingLine("4601000088888", pngA, "svg"),                   // 7 wrong type
		`{"code":"4601000077777","picture":"!!!"}`,                 // 8 bad base64
		filingLine("4601000012345", pngA, ""),                      // 9 same again: unchanged
		filingLine("4601000012345", pngB, ""),                      // 10 another picture: conflict
		`{"picture":"AAAA"}`,                                       // 11 no code
		filingLine("4601000066666", filingPNG(t, 20, 20, 3), ""),   // 12 too small
	}
	res, err := imps.Import(ctx, strings.NewReader(strings.Join(lines, "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if res.Lines != 12 || res.Added != 2 || res.Unchanged != 1 || res.Bad != 8 || len(res.Problems) != 8 {
		t.Fatalf("result %+v", res)
	}
	wantLines := []struct {
		line int
		kind errs.Kind
		text string
	}{
		{4, errs.Malformed, "not a JSON object"},
		{5, errs.InvalidInput, "character 5"},
		{6, errs.InvalidInput, "impression"},
		{7, errs.InvalidInput, `type "svg" given, but the picture is png`},
		{8, errs.Malformed, "base64"},
		{10, errs.Conflict, "another impression"},
		{11, errs.InvalidInput, `no "code"`},
		{12, errs.InvalidInput, "impression"},
	}
	for i, w := range wantLines {
		p := res.Problems[i]
		if p.Line != w.line || errs.KindOf(p.Err) != w.kind || !strings.Contains(p.String(), w.text) {
			t.Errorf("problem %d = %s (kind %s), want line %d, kind %s, %q", i, p, errs.KindOf(p.Err).Code(), w.line, w.kind.Code(), w.text)
		}
	}

	pic, typ, err := imps.FiledImpression(ctx, "4601000012345")
	if err != nil || typ != "png" || !bytes.Equal(pic, pngA) {
		t.Fatalf("FiledImpression = %d bytes, %q, %v", len(pic), typ, err)
	}
	pic, typ, err = imps.FiledImpression(ctx, "4601000054321")
	if err != nil || typ != "svg" || string(pic) != filingSVG {
		t.Fatalf("FiledImpression svg = %q, %q, %v", pic, typ, err)
	}
	for _, code := range []string{"4601000099999", "4601000088888", "4601000066666"} {
		if _, _, err := imps.FiledImpression(ctx, code); !errors.Is(err, errs.NotFound) {
			t.Errorf("FiledImpression(%s) = %v, want NotFound", code, err)
		}
	}
	if _, _, err := imps.FiledImpression(ctx, "a/b"); !errors.Is(err, errs.InvalidInput) {
		t.Errorf("FiledImpression(a/b) = %v, want InvalidInput", err)
	}

	// A second import of the same file adds nothing and changes nothing.
	res, err = imps.Import(ctx, strings.NewReader(lines[0]+"\n"+lines[9]+"\n"))
	if err != nil || res.Added != 0 || res.Unchanged != 1 || res.Bad != 1 || res.Problems[0].Line != 2 {
		t.Fatalf("re-import: %+v, %v", res, err)
	}
	if pic, _, _ := imps.FiledImpression(ctx, "4601000012345"); !bytes.Equal(pic, pngA) {
		t.Fatal("a refused re-import changed the filed impression")
	}
	// Only the impression keyspace was written.
	err = db.Scan(ctx, nil, func(k, _ []byte) error {
		if !bytes.HasPrefix(k, []byte("reg/imp/")) {
			return fmt.Errorf("key %q outside reg/imp/", k)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestImpressionImportDuplicateInOneBatch(t *testing.T) {
	ctx := context.Background()
	imps := NewImpressionStore(filingStore(t), ImpressionOptions{})
	a, b := filingPNG(t, 120, 120, 7), filingPNG(t, 120, 120, 8)
	in := filingLine("X1", a, "") + "\n" + filingLine("X1", a, "") + "\n" + filingLine("X1", b, "") + "\n"
	res, err := imps.Import(ctx, strings.NewReader(in))
	if err != nil || res.Added != 1 || res.Unchanged != 1 || res.Bad != 1 || res.Problems[0].Line != 3 || !errors.Is(res.Problems[0].Err, errs.Conflict) {
		t.Fatalf("%+v, %v", res, err)
	}
}

func TestImpressionImportLongLine(t *testing.T) {
	ctx := context.Background()
	imps := NewImpressionStore(filingStore(t), ImpressionOptions{})
	good := filingLine("4601000012345", filingPNG(t, 150, 150, 9), "")
	long := `{"code":"X2","picture":"` + strings.Repeat("A", ImpressionMaxLine) + `"}`
	res, err := imps.Import(ctx, strings.NewReader(long+"\n"+good))
	if err != nil {
		t.Fatal(err)
	}
	if res.Lines != 2 || res.Added != 1 || res.Bad != 1 || res.Problems[0].Line != 1 || !errors.Is(res.Problems[0].Err, errs.LimitExceeded) {
		t.Fatalf("%+v", res)
	}
}

func TestImpressionImportManyBatches(t *testing.T) {
	ctx := context.Background()
	imps := NewImpressionStore(filingStore(t), ImpressionOptions{})
	pic := filingPNG(t, 100, 100, 4)
	var b strings.Builder
	n := ImpressionBatchLines*2 + 5
	for i := range n {
		fmt.Fprintln(&b, filingLine(fmt.Sprintf("46010%08d", i), pic, "png"))
	}
	res, err := imps.Import(ctx, strings.NewReader(b.String()))
	if err != nil || res.Added != n || res.Bad != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	if _, _, err := imps.FiledImpression(ctx, fmt.Sprintf("46010%08d", n-1)); err != nil {
		t.Fatal(err)
	}
}

// Two imports of the same codes at once: each code ends up filed once, and each line is
// either added by one import or unchanged for the other.
func TestImpressionImportConcurrent(t *testing.T) {
	ctx := context.Background()
	imps := NewImpressionStore(filingStore(t), ImpressionOptions{})
	pic := filingPNG(t, 100, 100, 5)
	var b strings.Builder
	for i := range 40 {
		fmt.Fprintln(&b, filingLine(fmt.Sprintf("C%d", i), pic, ""))
	}
	var wg sync.WaitGroup
	results := make([]ImportResult, 4)
	for i := range results {
		wg.Go(func() {
			res, err := imps.Import(ctx, strings.NewReader(b.String()))
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	added, unchanged := 0, 0
	for _, r := range results {
		added += r.Added
		unchanged += r.Unchanged
		if r.Bad != 0 {
			t.Errorf("problems: %v", r.Problems)
		}
	}
	if added != 40 || unchanged != 3*40 {
		t.Fatalf("added %d, unchanged %d", added, unchanged)
	}
}

func TestImpressionCorruptRecord(t *testing.T) {
	ctx := context.Background()
	db := filingStore(t)
	imps := NewImpressionStore(db, ImpressionOptions{})
	pic := filingPNG(t, 100, 100, 6)
	if _, err := imps.Import(ctx, strings.NewReader(filingLine("K1", pic, ""))); err != nil {
		t.Fatal(err)
	}
	v, err := db.Get(ctx, []byte("reg/imp/K1"))
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(v, &rec); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(pic)
	bad[len(bad)/2] ^= 1
	rec["picture"] = base64.StdEncoding.EncodeToString(bad)
	v, _ = json.Marshal(rec)
	if err := db.Set(ctx, []byte("reg/imp/K1"), v); err != nil {
		t.Fatal(err)
	}
	if _, _, err := imps.FiledImpression(ctx, "K1"); !errors.Is(err, errs.Corrupt) {
		t.Fatalf("FiledImpression of a changed picture = %v, want Corrupt", err)
	}
}

func FuzzImpressionImport(f *testing.F) {
	f.Add([]byte(filingLine("4601000012345", []byte(filingSVG), "svg")))
	f.Add([]byte("{\"code\":\"A\",\"picture\":\"AAAA\"}\n\n{}\r\nnull\n[1]\n"))
	f.Add([]byte(`{"code":"` + strings.Repeat("9", 70) + `","picture":""}`))
	db := filingStore(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		imps := NewImpressionStore(store.MustSpace(db, fmt.Sprintf("f%d", len(in))), ImpressionOptions{})
		res, err := imps.Import(context.Background(), bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if res.Added+res.Unchanged+res.Bad > res.Lines {
			t.Fatalf("%+v", res)
		}
		if lines := bytes.Count(in, []byte("\n")) + 1; res.Lines > lines {
			t.Fatalf("%d lines counted in %d", res.Lines, lines)
		}
	})
}
