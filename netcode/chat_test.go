package netcode

import (
	"strings"
	"testing"
	"time"
)

func TestCleanChat(t *testing.T) {
	for in, want := range map[string]string{
		"  hello  ":                      "hello",
		"a\x00b\x1bc\nd\te":              "abcde",
		"evil\u202Egnp.exe":              "evilgnp.exe", // bidi override stripped
		"zero\u200Dwidth":                "zerowidth",
		"\x07\x07":                       "",
		strings.Repeat("é", 150):         strings.Repeat("é", 100), // 300 bytes cut at a boundary
		"ok " + strings.Repeat("x", 300): "ok " + strings.Repeat("x", 197),
		"日本語のチャット":                       "日本語のチャット",
	} {
		if got := cleanChat(in); got != want {
			t.Errorf("cleanChat(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestChatBucket(t *testing.T) {
	var b chatBucket
	now := time.Unix(1000, 0)
	for i := range chatBurst {
		if !b.take(now) {
			t.Fatalf("line %d of the burst refused", i+1)
		}
	}
	if b.take(now) {
		t.Fatal("a line past the burst taken")
	}
	if !b.take(now.Add(chatEvery)) || b.take(now.Add(chatEvery)) {
		t.Fatal("want exactly one more line a second later")
	}
}
