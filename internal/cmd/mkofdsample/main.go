// Command mkofdsample writes the OFD sample into a folder: licence.ofd, an unsigned
// licence-like document it lays out itself (a business licence of a sample company), and
// licence.png, its first page drawn by ofdrender at 96 dpi.
//
//	go run ./internal/cmd/mkofdsample [-font FILE] testdata/ofd
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"time"

	"github.com/eseal/eseal/internal/ofdrender"
	"github.com/eseal/eseal/ofd"
)

func main() {
	font := flag.String("font", "", "CJK font for the seal pictures and the rendering (default: uming.ttc)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mkofdsample [-font FILE] DIR")
		os.Exit(2)
	}
	if err := write(context.Background(), flag.Arg(0), *font); err != nil {
		fmt.Fprintln(os.Stderr, "mkofdsample:", err)
		os.Exit(1)
	}
}

// The sample's clock: the licence is issued on issuedAt.
var issuedAt = time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)

func write(ctx context.Context, dir, font string) error {
	unsigned, _, _, err := licence(issuedAt)
	if err != nil {
		return err
	}
	pngData, err := renderPage(unsigned, font)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range map[string][]byte{
		"licence.ofd": unsigned,
		"licence.png": pngData,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// renderPage draws page 1 of an OFD package at 96 dpi as a PNG.
func renderPage(data []byte, font string) ([]byte, error) {
	r, err := ofdrender.New(ofdrender.Options{FontPath: font})
	if err != nil {
		return nil, err
	}
	p, err := ofd.Open(data, ofd.Limits{})
	if err != nil {
		return nil, err
	}
	pg, err := r.RenderPage(p, 1)
	if err != nil {
		return nil, err
	}
	for _, n := range pg.Notes {
		fmt.Fprintln(os.Stderr, "mkofdsample: rendering:", n)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, pg.Image); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
