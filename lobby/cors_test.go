package lobby

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func corsCall(t *testing.T, method, url, origin string, header ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(`{"mode":"duo"}`))
	req.Header.Set("Origin", origin)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestCORS: a preflight from an allowed origin is answered with the methods
// and headers the API takes; its calls, refusals included, carry
// Access-Control-Allow-Origin; another origin gets no CORS headers.
func TestCORS(t *testing.T) {
	l := newFaultLobby(t, func(c *Config) {
		c.AllowOrigin = func(o string) bool { return o == "https://game.example.com" }
		c.RateLimits = RateLimits{CreateRoom: Limit{Rate: 0.01, Burst: 1}, LimitLoopback: true}
	})
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)
	const good, evil = "https://game.example.com", "https://evil.example"

	pre := corsCall(t, "OPTIONS", srv.URL+"/v1/rooms", good,
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type") // as browsers send it
	if pre.StatusCode/100 != 2 || pre.Header.Get("Access-Control-Allow-Origin") != good ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(strings.ToLower(pre.Header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("preflight from %s: %d %v; want 2xx allowing POST with Authorization", good, pre.StatusCode, pre.Header)
	}
	if r := corsCall(t, "POST", srv.URL+"/v1/rooms", good); r.StatusCode != 201 || r.Header.Get("Access-Control-Allow-Origin") != good {
		t.Fatalf("POST from %s: %d %v", good, r.StatusCode, r.Header)
	}
	r := corsCall(t, "POST", srv.URL+"/v1/rooms", good)
	if r.StatusCode != 429 || r.Header.Get("Access-Control-Allow-Origin") != good ||
		!strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "Retry-After") {
		t.Fatalf("429 to %s: %v; want CORS headers exposing Retry-After, so the page can read it", good, r.Header)
	}
	pre = corsCall(t, "OPTIONS", srv.URL+"/v1/rooms", evil, "Access-Control-Request-Method", "POST")
	if pre.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from %s allowed: %v", evil, pre.Header)
	}
	if r := corsCall(t, "GET", srv.URL+"/v1/modes", evil); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("GET from %s has CORS headers: %v", evil, r.Header)
	}
}

// TestCORSDefaultAnyOrigin: with no AllowOrigin (the socket's default too)
// any page may call the API.
func TestCORSDefaultAnyOrigin(t *testing.T) {
	l := newFaultLobby(t, func(*Config) {})
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)
	pre := corsCall(t, "OPTIONS", srv.URL+"/v1/matchmaking/tickets", "http://localhost:8080", "Access-Control-Request-Method", "POST")
	if pre.StatusCode/100 != 2 || pre.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
}
