package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/store"
)

func testImpressionPNG(t *testing.T, seed byte) []byte {
	t.Helper()
	im := image.NewNRGBA(image.Rect(0, 0, 160, 160))
	for i := range im.Pix {
		im.Pix[i] = byte(i) ^ seed
	}
	im.Set(0, 0, color.NRGBA{A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestImpressionsImportCommand(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	pic := base64.StdEncoding.EncodeToString(testImpressionPNG(t, 1))
	good := fmt.Sprintf(`{"code":"4601000012345","picture":"%s","type":"png"}`+"\n"+`{"code":"4601000054321","picture":"%s"}`+"\n", pic, pic)
	file := filepath.Join(tmp, "imp.jsonl")
	if err := os.WriteFile(file, []byte(good+`{"code":"bad code","picture":"AAAA"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI("impressions", "import", "--data", data, file)
	if code != exitFailed || !strings.Contains(out, "3 lines: 2 impressions added, 0 already filed, 1 refused") || !strings.Contains(out, "line 3: seal code") {
		t.Fatalf("import: %d\n%s\n%s", code, out, errOut)
	}
	// The same good lines again, from standard input: already filed, exit 0.
	goodFile := filepath.Join(tmp, "good.jsonl")
	if err := os.WriteFile(goodFile, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI("impressions", "import", goodFile, "--data", data)
	if code != exitOK || !strings.Contains(out, "2 lines: 0 impressions added, 2 already filed, 0 refused") {
		t.Fatalf("re-import: %d\n%s\n%s", code, out, errOut)
	}
	db, err := store.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, typ, err := registry.NewImpressionStore(db, registry.ImpressionOptions{}).FiledImpression(context.Background(), "4601000054321")
	db.Close()
	if err != nil || typ != "png" || base64.StdEncoding.EncodeToString(got) != pic {
		t.Fatalf("filed: %q %v", typ, err)
	}
	for _, args := range [][]string{
		{"impressions", "import", "--data", data},
		{"impressions", "import", file},
		{"impressions", "import", "--data", data, filepath.Join(tmp, "missing")},
		{"impressions"},
		{"impressions", "frob"},
	} {
		if code, _, errOut := runCLI(args...); code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// outboxStore makes a store holding n events in the outbox.
func outboxStore(t *testing.T, n int) string {
	t.Helper()
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	db, err := store.Open(data, &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ob, err := registry.NewOutbox(ctx, db, registry.OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		ws, err := ob.EventWrites(ctx, registry.Event{Kind: "made", SealCode: fmt.Sprintf("46010000%05d", i), Time: time.Now(),
			Fields: map[string]string{"org": "海南省大数据管理局"}})
		if err != nil {
			t.Fatal(err)
		}
		b := db.NewBatch()
		for _, w := range ws {
			if err := b.Set(w.Key, w.Value); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		b.Close()
	}
	return data
}

func TestOutboxCommands(t *testing.T) {
	data := outboxStore(t, 3)
	outFile := filepath.Join(t.TempDir(), "police.jsonl")
	code, _, errOut := runCLI("outbox", "export", "--data", data, "--target", "police", "--out", outFile)
	if code != exitOK || !strings.Contains(errOut, "3 records for police") {
		t.Fatalf("export: %d %q", code, errOut)
	}
	fi, err := os.Stat(outFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(outFile)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var ids []string
	for _, l := range lines {
		var rec struct{ ID, Target, Kind, Seal string }
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.Target != "police" || rec.Kind != "made" {
			t.Fatalf("line %q: %v", l, err)
		}
		ids = append(ids, rec.ID)
	}
	if len(ids) != 3 {
		t.Fatalf("%d lines", len(ids))
	}
	// The file is never overwritten.
	if code, _, _ := runCLI("outbox", "export", "--data", data, "--target", "police", "--out", outFile); code != exitUsage {
		t.Fatalf("export over an existing file: exit %d", code)
	}
	// Ack one by argument, then the whole export by --file.
	code, out, errOut := runCLI("outbox", "ack", "--data", data, "--target", "police", ids[0])
	if code != exitOK || !strings.Contains(out, "1 records marked delivered to police, 0 delivered before") {
		t.Fatalf("ack: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI("outbox", "ack", "--data", data, "--target", "police", "--file", outFile)
	if code != exitOK || !strings.Contains(out, "2 records marked delivered to police, 1 delivered before") {
		t.Fatalf("ack --file: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI("outbox", "export", "--data", data, "--target", "police")
	if code != exitOK || out != "" || !strings.Contains(errOut, "0 records") {
		t.Fatalf("export after ack: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI("outbox", "export", "--data", data, "--target", "national")
	if code != exitOK || strings.Count(out, "\n") != 3 {
		t.Fatalf("national export: %d %q", code, out)
	}
	// Refusals.
	if code, _, errOut := runCLI("outbox", "ack", "--data", data, "--target", "national", ids[0], "0000000000000001-00000000"); code != exitFailed || !strings.Contains(errOut, "nothing marked") {
		t.Fatalf("ack of an unknown id: %d %q", code, errOut)
	}
	code, out, _ = runCLI("outbox", "export", "--data", data, "--target", "national")
	if code != exitOK || strings.Count(out, "\n") != 3 {
		t.Fatalf("a refused ack marked something: %q", out)
	}
	for _, args := range [][]string{
		{"outbox", "export", "--data", data, "--target", "tax"},
		{"outbox", "export", "--data", data},
		{"outbox", "export", "--data", filepath.Join(t.TempDir(), "none"), "--target", "police"},
		{"outbox", "ack", "--data", data, "--target", "police"},
		{"outbox", "ack", "--data", data, "--target", "police", "--file", filepath.Join(t.TempDir(), "none")},
		{"outbox"},
		{"outbox", "frob"},
	} {
		if code, _, errOut := runCLI(args...); code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	if code, _, errOut := runCLI("outbox", "ack", "--data", data, "--target", "tax", ids[0]); code != exitUsage || !strings.Contains(errOut, "want police or national") {
		t.Errorf("ack to an unknown target: %d %q", code, errOut)
	}
}

func TestFilingCommandsHelp(t *testing.T) {
	for _, args := range [][]string{
		{"impressions", "import", "--help"}, {"impressions", "--help"}, {"outbox", "export", "-h"},
		{"outbox", "ack", "--help"}, {"outbox", "help"},
	} {
		code, out, errOut := runCLI(args...)
		if code != exitOK || !strings.Contains(out, "usage:") || errOut != "" {
			t.Errorf("%v: exit %d\nstdout %q\nstderr %q", args, code, out, errOut)
		}
	}
	if _, out, _ := runCLI("--help"); !strings.Contains(out, "eseal outbox ack") || !strings.Contains(out, "eseal impressions import") {
		t.Errorf("eseal --help does not list the filing commands:\n%s", out)
	}
}
