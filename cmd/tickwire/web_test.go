package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tickwire/tickwire/netcode"
)

// TestWebPage: the page is at / by default and 404 with --web=false; with an
// Origin allowlist that does not name it, the page's own origin may still
// open a game socket, and another origin may not.
func TestWebPage(t *testing.T) {
	on := startNode(t, "arena:16:2m", netcode.Config{AllowSameOrigin: true, AllowedOrigins: []string{"https://game.example.com"}})
	base := "http" + strings.TrimPrefix(on.url, "ws")
	for path, want := range map[string]string{"/": "<title>Tickwire</title>", "/app.js": "tickwire", "/config.json": `"node"`} {
		if body, code := get(t, base+path, ""); code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d %.80q; want 200 with %q", path, code, body, want)
		}
	}
	host := strings.TrimPrefix(base, "http://")
	if _, code := get(t, base+netcode.Path, "http://"+host); code == http.StatusForbidden {
		t.Errorf("the page's own origin was refused the game socket")
	}
	if _, code := get(t, base+netcode.Path, "http://evil.example.com"); code != http.StatusForbidden {
		t.Errorf("another origin got %d on the game socket; want 403", code)
	}
	off := startNode(t, "arena:16:2m", netcode.Config{})
	if _, code := get(t, "http"+strings.TrimPrefix(off.url, "ws")+"/", ""); code != http.StatusNotFound {
		t.Errorf("--web=false: GET / is %d; want 404", code)
	}
}

func get(t *testing.T, url, origin string) (string, int) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b), res.StatusCode
}
