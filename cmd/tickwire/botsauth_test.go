package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tickwire/tickwire/lobby"
	"github.com/tickwire/tickwire/netcode"
)

// TestBotsAgainstALobbyThatVerifiesPlayers: against a node started with
// --auth-hs256-secret, `tickwire bots` without the secret is refused
// (token_required), and with it every bot gets its seat with a JWT for
// itself, plays, and none desyncs.
func TestBotsAgainstALobbyThatVerifiesPlayers(t *testing.T) {
	const secret = "a-secret-of-at-least-thirty-two-bytes!"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lc := lobbyConfig{store: "embedded", dataDir: t.TempDir(), modes: "arena:4:1m", ticketTTL: time.Minute, matchInterval: 100 * time.Millisecond,
		identity: lobby.Identity{Issuer: "https://auth.test", Audience: "tickwire"}, authSecret: secret}
	n, err := newNode(t.Context(), ln.Addr().String(), netcode.Config{}, &lc, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.http.Serve(ln) }()
	t.Cleanup(func() { _ = n.shutdown(context.Background()) })
	url := "ws://" + ln.Addr().String()
	args := []string{"--url", url, "--rooms", "2", "--players", "4", "--duration", "2s", "--mode", "arena", "--json"}

	var out bytes.Buffer
	var errs lockedBuffer // the bots log from many goroutines, as to a real stderr
	if code := run(append([]string{"bots"}, args...), &out, &errs); code == 0 || !strings.Contains(out.String()+errs.String(), "token_required") {
		t.Fatalf("bots without a token: exit %d, output %q %q; want a failure that says token_required", code, out.String(), errs.String())
	}
	out.Reset()
	errs.Reset()
	withToken := append([]string{"bots", "--auth-hs256-secret", secret, "--auth-issuer", "https://auth.test", "--auth-audience", "tickwire", "--room-prefix", "authed"}, args...)
	if code := run(withToken, &out, &errs); code != 0 {
		t.Fatalf("bots with tokens: exit %d: %s", code, errs.String())
	}
	var rep struct {
		Joined  int `json:"clients_joined"`
		Desyncs int `json:"desyncs"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v: %s", err, out.String())
	}
	if rep.Joined != 8 || rep.Desyncs != 0 {
		t.Fatalf("with tokens: %d of 8 joined, %d desyncs; want 8 and 0", rep.Joined, rep.Desyncs)
	}
	if code := run([]string{"bots", "--url", url, "--no-lobby", "--auth-hs256-secret", secret}, &out, &errs); code == 0 {
		t.Error("--auth-hs256-secret with --no-lobby was accepted")
	}
}

// lockedBuffer is a bytes.Buffer that many goroutines may write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}
