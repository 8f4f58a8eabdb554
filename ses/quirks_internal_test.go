package ses

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func utc(y, mo, d, h, mi, s int) time.Time {
	return time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC)
}

func TestTimes(t *testing.T) {
	for _, tc := range []struct {
		name string
		tag  byte
		in   string
		want time.Time
		kind TimeKind
		note string // "" when the encoding is the standard one
	}{
		{"DER GeneralizedTime", 0x18, "20220525172844Z", utc(2022, 5, 25, 17, 28, 44), KindGeneralizedTime, ""},
		{"GeneralizedTime without Z", 0x18, "20220318213217", utc(2022, 3, 18, 13, 32, 17), KindGeneralizedTime, "has no zone; read as China Standard Time (UTC+8)"},
		{"GeneralizedTime with an offset", 0x18, "20220318213217+0800", utc(2022, 3, 18, 13, 32, 17), KindGeneralizedTime, "not in the DER form"},
		{"GeneralizedTime with a fraction", 0x18, "20201004072855.302Z", time.Date(2020, 10, 4, 7, 28, 55, 302e6, time.UTC), KindGeneralizedTime, "not in the DER form"},
		{"GeneralizedTime holding UTCTime text", 0x18, "220725214639Z", utc(2022, 7, 25, 21, 46, 39), KindUTCTime, "holds 12-digit UTCTime text; read as YYMMDDhhmmss with the RFC 5280 century window"},
		{"GeneralizedTime holding UTCTime text of the 1900s", 0x18, "690725214639Z", utc(1969, 7, 25, 21, 46, 39), KindUTCTime, "RFC 5280"},
		{"GeneralizedTime holding zone-less UTCTime text", 0x18, "220725214639", utc(2022, 7, 25, 13, 46, 39), KindUTCTime, "it has no zone, read as China Standard Time"},
		{"GeneralizedTime without seconds", 0x18, "202203182132Z", utc(2022, 3, 18, 21, 32, 0), KindGeneralizedTime, "not in the DER form"},
		{"twelve digits both ways are read as UTCTime text", 0x18, "200101010101Z", utc(2020, 1, 1, 1, 1, 1), KindUTCTime, "12-digit UTCTime text"},
		{"GeneralizedTime holding text", 0x18, "2022-03-24 08:54:12", utc(2022, 3, 24, 0, 54, 12), KindText, "holds the text \"2022-03-24 08:54:12\", not YYYYMMDDHHMMSSZ; read as written, with no zone, read as China Standard Time"},
		{"UTCTime", 0x17, "220725214639Z", utc(2022, 7, 25, 21, 46, 39), KindUTCTime, ""},
		{"UTCTime 49 is 2049", 0x17, "491231235959Z", utc(2049, 12, 31, 23, 59, 59), KindUTCTime, ""},
		{"UTCTime 50 is 1950", 0x17, "500101000000Z", utc(1950, 1, 1, 0, 0, 0), KindUTCTime, ""},
		{"UTCTime 68 is 1968", 0x17, "680101000000Z", utc(1968, 1, 1, 0, 0, 0), KindUTCTime, ""},
		{"UTCTime without zone", 0x17, "220725214639", utc(2022, 7, 25, 13, 46, 39), KindUTCTime, "has no zone; read as China Standard Time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, kind, note, err := element{tag: tagOf(tc.tag), content: []byte(tc.in)}.time("field")
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) || got.Location() != time.UTC || kind != tc.kind {
				t.Errorf("%v %s, want %v %s", got, kind, tc.want, tc.kind)
			}
			if (tc.note == "") != (note == "") || !strings.Contains(note, tc.note) {
				t.Errorf("note %q, want %q", note, tc.note)
			}
		})
	}
	for _, bad := range []string{"", "2022", "20221318000000Z", "yesterday", "221318214639Z"} {
		if _, _, _, err := (element{tag: tagGeneralizedTime, content: []byte(bad)}).time("field"); err == nil {
			t.Errorf("%q read as a time", bad)
		}
	}
}

func tagOf(b byte) cbasn1.Tag { return cbasn1.Tag(b) }

func TestTextTimes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		note string
	}{
		{"2022-03-24 08:54:12", utc(2022, 3, 24, 0, 54, 12), "it has no zone, read as China Standard Time (UTC+8)"},
		{"2020-01-25T07:31:56.377Z", time.Date(2020, 1, 25, 7, 31, 56, 377e6, time.UTC), "in a BIT STRING"},
		{"2022-03-24 08:54:12\x00\x00", utc(2022, 3, 24, 0, 54, 12), "China Standard Time"},
	} {
		got, kind, note := decodeV1Time([]byte(tc.in))
		if !got.Equal(tc.want) || kind != KindText || !strings.Contains(note, tc.note) {
			t.Errorf("%q: %v %s %q", tc.in, got, kind, note)
		}
		if strings.Contains(tc.in, "Z") && strings.Contains(note, "no zone") {
			t.Errorf("%q: a zoned text time said to have no zone", tc.in)
		}
	}
	// A DER UTCTime inside the BIT STRING, as ofdrw writes it, is no text.
	if got, kind, note := decodeV1Time([]byte("\x17\x0d260301000000Z")); !got.Equal(utc(2026, 3, 1, 0, 0, 0)) || kind != KindUTCTime || note != "" {
		t.Errorf("DER UTCTime: %v %s %q", got, kind, note)
	}
	if got, _, _ := decodeV1Time([]byte("no time here")); !got.IsZero() {
		t.Errorf("read %v from text that is no time", got)
	}
}

func TestBitStrings(t *testing.T) {
	for _, tc := range []struct {
		content []byte
		unused  int
		err     string
	}{
		{[]byte{0, 1, 2}, 0, ""},
		{[]byte{3, 1, 2}, 3, ""},
		{[]byte{7, 0xff}, 7, ""},
		{[]byte{8, 1}, 0, "at most 7"},
		{[]byte{2}, 0, "without content"},
		{[]byte{0}, 0, ""},
		{nil, 0, "empty"},
	} {
		b, unused, err := element{tag: tagBitString, content: tc.content}.bits("x")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("% x: err %v, want %q", tc.content, err, tc.err)
			}
			continue
		}
		if err != nil || unused != tc.unused || string(b) != string(tc.content[1:]) {
			t.Errorf("% x: % x %d %v", tc.content, b, unused, err)
		}
		if note := unusedNote("x", unused); (unused == 0) != (note == "") {
			t.Errorf("% x: note %q", tc.content, note)
		}
	}
}

// TestReadElementsBounded: a constructed value holds at most MaxElements children; more is
// refused with an error naming the limit (a list of two-byte children would otherwise take
// tens of times its size once read).
func TestReadElementsBounded(t *testing.T) {
	child := []byte{0x04, 0x00}
	if kids, err := readElements(bytes.Repeat(child, MaxElements), "list"); err != nil || len(kids) != MaxElements {
		t.Fatalf("%d children: %d read, %v", MaxElements, len(kids), err)
	}
	_, err := readElements(bytes.Repeat(child, MaxElements+1), "list")
	if !errors.Is(err, errTooManyElements) || !strings.Contains(err.Error(), "list: more than 4096 elements") {
		t.Fatalf("%d children: %v", MaxElements+1, err)
	}
}
