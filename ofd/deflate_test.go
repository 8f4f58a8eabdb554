package ofd

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The stored-block stream is byte for byte what compress/flate writes at NoCompression,
// and inflates back to its input, for sizes around the block boundaries.
func TestWriteStoredBlocksMatchesFlate(t *testing.T) {
	for _, n := range []int{0, 1, 100, maxStoredBlock - 1, maxStoredBlock, maxStoredBlock + 1, 2 * maxStoredBlock, 2*maxStoredBlock + 7, 200000} {
		b := make([]byte, n)
		rand.Read(b)
		var want bytes.Buffer
		fw, err := flate.NewWriter(&want, flate.NoCompression)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := writeStoredBlocks(&got, b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%d bytes: the stream differs from compress/flate's (%d bytes, want %d)", n, got.Len(), want.Len())
		}
		if got.Len() != storedDeflateSize(n) {
			t.Errorf("%d bytes: storedDeflateSize = %d, the stream is %d bytes", n, storedDeflateSize(n), got.Len())
		}
		back, err := io.ReadAll(flate.NewReader(&got))
		if err != nil || !bytes.Equal(back, b) {
			t.Errorf("%d bytes: the stream does not inflate back (%v)", n, err)
		}
	}
}

// The writer copies each unchanged entry from the slice Open kept: for every vector it
// holds exactly the bytes archive/zip reads as the entry's raw data.
func TestRawEntriesMatchArchiveZip(t *testing.T) {
	n := 0
	err := filepath.WalkDir(vectorsDir(t), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.EqualFold(filepath.Ext(path), ".ofd") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		p, err := Open(data, Limits{})
		if err != nil {
			return nil // a vector the reader refuses has nothing to copy
		}
		for _, name := range p.order {
			r, err := p.files[name].OpenRaw()
			if err != nil {
				t.Fatalf("%s: %s: %v", path, name, err)
			}
			want, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("%s: %s: %v", path, name, err)
			}
			if !bytes.Equal(p.raw[name], want) {
				t.Errorf("%s: %s: the kept raw bytes (%d) are not archive/zip's (%d)", path, name, len(p.raw[name]), len(want))
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no entry of any vector was compared")
	}
}
