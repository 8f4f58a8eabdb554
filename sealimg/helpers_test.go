package sealimg

import (
	"os"
	"sync"
	"testing"
)

var (
	shared    *Renderer
	sharedErr error
	once      sync.Once
)

// testRenderer returns a Renderer with the default font, shared by the
// tests; it skips the test if the font is not installed.
func testRenderer(tb testing.TB) *Renderer {
	tb.Helper()
	if _, err := os.Stat(DefaultFontPath); err != nil {
		tb.Skipf("font not installed (apt-get install fonts-arphic-uming): %v", err)
	}
	once.Do(func() { shared, sharedErr = New(Options{}) })
	if sharedErr != nil {
		tb.Fatal(sharedErr)
	}
	return shared
}
