package ofd

import (
	"testing"
)

var nameSamples = []string{"", "/", "//", "/Doc_0/Document.xml", "//a/b", "/./a", "a", "A", "Doc_0/Pages/Page_0/Content.xml", "DOC_0/Res/IMAGE.PNG", "a./b ", "a. . /b..",
	"./a", "a/./b", "a/../b", "../a", "a//b", "/a", "a/", `a\b`, "..", ".", "a/..", "...", "a/.../b", "%41/b", "Sign_0 /x",
	"Doc_0/图片.png", "K", "\u212a", "a\u200bb", "é", "e\u0301"}

// The ASCII fast path of foldName gives what the Unicode path gives.
func TestFoldASCII(t *testing.T) {
	for _, s := range nameSamples {
		if !isASCII(s) {
			continue
		}
		if got, want := foldASCII(s), foldUnicode(s); got != want {
			t.Errorf("foldASCII(%q) = %q, foldUnicode gives %q", s, got, want)
		}
	}
	if foldName("Doc_0/A.") != "doc_0/a" || foldName("\u212a") != "k" {
		t.Errorf("foldName: %q, %q", foldName("Doc_0/A."), foldName("\u212a"))
	}
}

// A name plainPath passes is one cleanPath's segment walk leaves as it is.
func TestPlainPath(t *testing.T) {
	plain := 0
	for _, s := range nameSamples {
		if plainPath(s) {
			plain++
			if got, ok := cleanSegments(s); !ok || got != s {
				t.Errorf("plainPath(%q), but cleanSegments gives %q, %v", s, got, ok)
			}
		}
		got, ok := cleanPath(s)
		if got2, ok2 := cleanSegments(s); got != got2 || ok != ok2 {
			t.Errorf("cleanPath(%q) = %q, %v; cleanSegments gives %q, %v", s, got, ok, got2, ok2)
		}
	}
	if plain < 5 {
		t.Errorf("only %d samples are plain paths", plain)
	}
	for _, s := range []string{"a//b", "/a", "a/", `a\b`, "./a", "a/..", ""} {
		if plainPath(s) {
			t.Errorf("plainPath(%q) is true", s)
		}
	}
}

func FuzzNameFastPaths(f *testing.F) {
	for _, s := range nameSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if isASCII(s) {
			if got, want := foldASCII(s), foldUnicode(s); got != want {
				t.Errorf("foldASCII(%q) = %q, foldUnicode gives %q", s, got, want)
			}
		}
		got, ok := cleanPath(s)
		want, wantOK := cleanSegments(s)
		if got != want || ok != wantOK {
			t.Errorf("cleanPath(%q) = %q, %v; cleanSegments gives %q, %v", s, got, ok, want, wantOK)
		}
	})
}
