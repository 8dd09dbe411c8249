package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tickwire/tickwire/netcode"
)

// corsPage is a page that calls the lobby at lobby from another origin the
// way a browser game does (JSON bodies, so every POST is preflighted), and
// writes what happened into its body.
func corsPage(lobby string) string {
	return `<!doctype html><html><body>pending<script>
(async () => {
  const out = [];
  try {
    const post = (path, body) => fetch("` + lobby + `" + path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    let r = await post("/v1/rooms", {mode: "duel"});
    const room = await r.json();
    out.push("create " + r.status);
    r = await post("/v1/rooms/" + room.room_id + "/join", {player_id: "web-1", name: "Web"});
    const seat = await r.json();
    out.push("join " + r.status + (seat.join_ticket ? " ticket" : ""));
    r = await fetch("` + lobby + `/v1/modes");
    out.push("modes " + r.status);
  } catch (e) {
    out.push("blocked " + e.name);
  }
  document.body.textContent = "result: " + out.join(", ");
})();
</script></body></html>`
}

// runChromium loads url in headless Chromium and returns the page's DOM once
// its scripts have run.
func runChromium(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--user-data-dir="+t.TempDir(), "--virtual-time-budget=15000", "--dump-dom", url)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return string(out)
}

// TestBrowserCallsLobbyAcrossOrigins: a page in real headless Chromium on an
// origin in --allowed-origins creates a room and takes a seat through the
// lobby API on another origin; a page on an origin not listed is blocked by
// the browser. The socket and the API share the list (and its matcher).
func TestBrowserCallsLobbyAcrossOrigins(t *testing.T) {
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Skip("no /usr/bin/chromium")
	}
	// The pages are served once the node, whose URL they hold, is up.
	allowed, other := httptest.NewUnstartedServer(nil), httptest.NewUnstartedServer(nil)
	allowedURL := "http://" + allowed.Listener.Addr().String()
	tn := startNode(t, "duel:2:1m", netcode.Config{AllowedOrigins: []string{allowedURL}})
	html := corsPage("http" + strings.TrimPrefix(tn.url, "ws"))
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, html)
	})
	for _, s := range []*httptest.Server{allowed, other} {
		s.Config.Handler = page
		s.Start()
		t.Cleanup(s.Close)
	}

	if dom := runChromium(t, allowed.URL); !strings.Contains(dom, "result: create 201, join 200 ticket, modes 200") {
		t.Fatalf("page on %s (allowed): %s", allowed.URL, dom)
	}
	if dom := runChromium(t, other.URL); !strings.Contains(dom, "result: blocked TypeError") {
		t.Fatalf("page on %s (not allowed): %s", other.URL, dom)
	}
}
