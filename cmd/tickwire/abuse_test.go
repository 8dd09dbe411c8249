package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lxzan/gws"
)

// closeRecorder is a WebSocket client that only records how it was closed.
type closeRecorder struct {
	gws.BuiltinEventHandler
	closed chan struct{}
	code   uint16
}

func (c *closeRecorder) OnClose(_ *gws.Conn, err error) {
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		c.code = ce.Code
	}
	close(c.closed)
}

// upgradeStatus asks for a WebSocket upgrade and returns the status and body
// of a refusal.
func upgradeStatus(t *testing.T, addr, origin string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp.StatusCode, ""
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeAbuseLimits runs the real binary with the abuse limits set by
// flag and environment, and checks each from outside: a socket that never
// joins, a second connection from an address allowed one (loopback is
// exempt), a page from a foreign origin, an HTTP request dribbled a byte at
// a time, and their counts on /v1/stats.
func TestServeAbuseLimits(t *testing.T) {
	t.Setenv("TICKWIRE_ALLOWED_ORIGINS", "https://game.example.com, *.example.org")
	addr := freeAddr(t)
	p := startProcess(t, addr, "--open-rooms", "--handshake-timeout", "500ms", "--max-conns-per-ip", "1")

	// An upgraded socket that never joins...
	idle := &closeRecorder{closed: make(chan struct{})}
	conn, _, err := gws.NewClient(idle, &gws.ClientOption{Addr: p.url() + "/ws"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.NetConn().Close()
	go conn.ReadLoop()
	// ...does not keep a second one out, limit or not: loopback peers (a
	// proxy on the host, a load test like the arena benchmark) are exempt.
	if status, body := upgradeStatus(t, addr, ""); status != http.StatusSwitchingProtocols {
		t.Fatalf("second loopback connection with --max-conns-per-ip 1: %d %q, want it upgraded", status, body)
	}
	// The handshake timeout ends the first.
	select {
	case <-idle.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("a socket that never joined was not closed")
	}
	if idle.code != 4006 {
		t.Fatalf("socket that never joined: close %d, want 4006 (HANDSHAKE_TIMEOUT)", idle.code)
	}

	// A browser page from elsewhere is refused; the allowed ones are not.
	if status, body := upgradeStatus(t, addr, "https://evil.example"); status != http.StatusForbidden || !strings.Contains(body, "evil.example") {
		t.Fatalf("foreign origin: %d %q, want 403 naming it", status, body)
	}
	for _, origin := range []string{"https://game.example.com", "http://www.example.org"} {
		waitStats(t, addr, "the slot to be free", func(st map[string]float64) bool { return st["connections"] == 0 })
		if status, body := upgradeStatus(t, addr, origin); status != http.StatusSwitchingProtocols {
			t.Fatalf("allowed origin %s: %d %q", origin, status, body)
		}
	}

	// Slow loris: the request header dribbles in a byte every 50ms, and the
	// server hangs up before it is complete.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hungUp := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, c) // until the server closes
		close(hungUp)
	}()
	header := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nX-Slow: " + strings.Repeat("z", 200) + "\r\n\r\n"
	sent := 0
dribble:
	for ; sent < len(header); sent++ {
		if _, err := c.Write([]byte{header[sent]}); err != nil {
			break // reset by the server
		}
		select {
		case <-hungUp:
			break dribble
		case <-time.After(50 * time.Millisecond):
		}
	}
	select {
	case <-hungUp:
	case <-time.After(5 * time.Second):
		t.Fatal("server did not hang up")
	}
	if sent >= len(header) {
		t.Fatalf("the whole %d-byte header went through a byte at a time; want it cut off", len(header))
	}
	t.Logf("slow header cut off after %d of %d bytes", sent, len(header))

	st := waitStats(t, addr, "counters", func(st map[string]float64) bool { return st["handshake_timeouts"] >= 1 })
	for name, want := range map[string]float64{"handshake_timeouts": 1, "refused_per_ip": 0, "refused_origin": 1} {
		if st[name] != want {
			t.Errorf("/v1/stats %s = %v, want %v", name, st[name], want)
		}
	}
	for _, name := range []string{"frames_in", "frames_rate_limited", "rate_limited_conns", "frames_too_large", "write_timeouts", "pending_frames", "pending_bytes"} {
		if _, ok := st[name]; !ok {
			t.Errorf("/v1/stats has no %s", name)
		}
	}
}

// waitStats polls /v1/stats until cond holds, and returns its numbers.
func waitStats(t *testing.T, addr, what string, cond func(map[string]float64) bool) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v1/stats")
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		if err := decodeJSON(resp, &raw); err != nil {
			t.Fatal(err)
		}
		st := map[string]float64{}
		for k, v := range raw {
			if f, ok := v.(float64); ok {
				st[k] = f
			}
		}
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: /v1/stats %v", what, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
