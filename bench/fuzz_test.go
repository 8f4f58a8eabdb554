package bench

import (
	"strings"
	"testing"
)

// FuzzCodeOf: any answer gives a code of at most 64 bytes without a quote, never a panic.
func FuzzCodeOf(f *testing.F) {
	f.Add(503, []byte(`{"code":"BUSY","message":"the verification queue is full"}`))
	f.Add(500, []byte(`{"code":"`))
	f.Add(404, []byte("<html>not found</html>"))
	f.Fuzz(func(t *testing.T, status int, answer []byte) {
		c := codeOf(status, answer)
		if c == "" || len(c) > 64+len("HTTP_")+20 || strings.Contains(c, `"`) {
			t.Fatalf("code %q", c)
		}
		_ = answerError(answer)
	})
}

// FuzzStatusField: any /proc status text gives a size or an error, never a panic or a
// negative size.
func FuzzStatusField(f *testing.F) {
	f.Add([]byte("VmHWM:\t  123 kB\nVmRSS:\t 100 kB\n"))
	f.Add([]byte("VmHWM: -5 kB\n"))
	f.Add([]byte("VmHWM: 99999999999999999999 kB\n"))
	f.Add([]byte("VmHWM: 9007199254740993 kB\n"))
	f.Fuzz(func(t *testing.T, status []byte) {
		n, err := statusField(status, "VmHWM")
		if err == nil && n < 0 {
			t.Fatalf("negative size %d", n)
		}
	})
}
