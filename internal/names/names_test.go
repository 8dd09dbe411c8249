package names

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		ok             bool
	}{
		{"plain", "alice", "alice", true},
		{"trimmed", "  bob \t\n", "bob", true},
		{"inner space", "Mary Ann", "Mary Ann", true},
		{"empty", "", "", true},
		{"only space", " \u3000 ", "", true},
		{"accents", "Zoë Łukasz", "Zoë Łukasz", true},
		{"cjk", "東京の猫", "東京の猫", true},
		{"emoji", "🐱🚀", "🐱🚀", true},
		{"arabic", "مرحبا", "مرحبا", true},
		{"32 characters of 3 bytes", strings.Repeat("猫", 32), strings.Repeat("猫", 32), true},
		{"33 ascii", strings.Repeat("a", 33), "", false},
		{"33 characters of 3 bytes", strings.Repeat("猫", 33), "", false},
		{"invalid utf-8", "bad\xffname", "", false},
		{"NUL", "a\x00b", "", false},
		{"ANSI escape", "\x1b[31mred", "", false},
		{"newline inside", "two\nlines", "", false},
		{"tab inside", "a\tb", "", false},
		{"DEL", "a\x7fb", "", false},
		{"C1 control", "a\u0085b", "", false},
		{"right-to-left override", "abc\u202Etxt.exe", "", false},
		{"left-to-right isolate", "a\u2066b", "", false},
		{"right-to-left mark", "a\u200Fb", "", false},
		{"zero-width space", "ad\u200Bmin", "", false},
		{"zero-width joiner", "a\u200Db", "", false},
		{"byte order mark", "\uFEFFname", "", false},
		{"soft hyphen", "ad\u00ADmin", "", false},
		{"line separator", "a\u2028b", "", false},
		{"paragraph separator", "a\u2029b", "", false},
		{"private use", "a\uE000b", "", false},
		{"noncharacter", "a\uFFFEb", "", false},
		{"tag character", "a\U000E0041b", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Check(tc.in)
			if tc.ok {
				if err != nil || got != tc.want {
					t.Fatalf("Check(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Check(%q) = %q, %v; want an ErrInvalid", tc.in, got, err)
			}
		})
	}
}

// FuzzCheck checks the rule's promises on any input: what Check accepts is
// valid UTF-8, trimmed, at most Max characters and MaxBytes bytes, free of
// every forbidden class, and accepted again unchanged.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"alice", " bob ", "\x1b[2J", "a\u202Eb", "猫猫猫", "\xff", "a\u200Db", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Check(in)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Check(%q): error %v does not wrap ErrInvalid", in, err)
			}
			return
		}
		switch {
		case !utf8.ValidString(got):
			t.Fatalf("Check(%q) = %q: not valid UTF-8", in, got)
		case strings.TrimSpace(got) != got:
			t.Fatalf("Check(%q) = %q: not trimmed", in, got)
		case utf8.RuneCountInString(got) > Max || len(got) > MaxBytes:
			t.Fatalf("Check(%q) = %q: too long", in, got)
		case strings.ContainsFunc(got, func(r rune) bool {
			return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co)
		}):
			t.Fatalf("Check(%q) = %q: holds a forbidden character", in, got)
		case !strings.Contains(in, got):
			t.Fatalf("Check(%q) = %q: not a part of the input", in, got)
		}
		if again, err := Check(got); err != nil || again != got {
			t.Fatalf("Check(Check(%q)) = %q, %v; want it unchanged", in, again, err)
		}
	})
}

func ExampleCheck() {
	for _, in := range []string{"  Zoë  ", "evil\u202Etxt", "\x1b[31mred"} {
		name, err := Check(in)
		fmt.Printf("%q %v\n", name, err)
	}
	// Output:
	// "Zoë" <nil>
	// "" invalid name: name must not hold control, format, zero-width or bidi characters (found U+202E)
	// "" invalid name: name must not hold control, format, zero-width or bidi characters (found U+001B)
}
