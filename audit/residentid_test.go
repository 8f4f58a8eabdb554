package audit

import "testing"

// TestHasResidentID: a whole identity number is found wherever it stands as a token; one
// inside a longer run of letters and digits (a certificate serial or digest in hexadecimal,
// which holds 18-digit runs now and then) is not an identity and must not make a record
// invalid.
func TestHasResidentID(t *testing.T) {
	const id = "11010519491231002X"     // 17 digits and their check character
	const digits = "460100198001011236" // one whose check character is a digit, as in hexadecimal
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{id, true},
		{"holder " + id, true},
		{"张三" + id + "，经办", true},
		{"id=" + id + ";", true},
		{"110105194912310021", false}, // wrong check character
		{"1" + id, false},             // part of a longer number
		{digits, true},
		{"serial " + digits, true},
		{"3f" + digits + "ab04", false},         // inside a hexadecimal serial
		{"5C8E10" + digits + "E9F2A7D1", false}, // the same, upper case
		{digits + "c", false},                   // a letter after it
		{"110105********002X", false},           // masked
	} {
		if got := HasResidentID(tc.s); got != tc.want {
			t.Errorf("HasResidentID(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
