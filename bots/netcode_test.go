package bots

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
	"github.com/tickwire/tickwire/netcode"
)

// arenaGame is the default game, as cmd/tickwire wires it.
func arenaGame(string) game.Game { return arena.New(arena.Config{}) }

// startNetcode serves a real game server with open rooms on loopback, with a
// stats endpoint of the shape `tickwire serve` has (CPU and memory left out:
// this process holds the bots as well).
func startNetcode(t *testing.T) string {
	t.Helper()
	srv, err := netcode.NewServer(netcode.Config{OpenRooms: true, NewGame: arenaGame})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(netcode.Path, srv)
	mux.HandleFunc("GET "+statsPath, func(w http.ResponseWriter, _ *http.Request) {
		st, ts := srv.Stats(), srv.TickStats()
		_ = json.NewEncoder(w).Encode(map[string]any{
			"connections": st.Connections, "rooms": st.Rooms, "state_frames_out": st.StateFramesOut,
			"bytes_out": st.BytesOut, "frames_dropped": st.FramesDropped, "cpu_seconds": 0, "rss_bytes": 1 << 20,
			"ticks": ts.Ticks, "tick_p50_ms": ms(ts.P50), "tick_p99_ms": ms(ts.P99), "tick_max_ms": ms(ts.Max),
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = hs.Close()
	})
	return "ws://" + ln.Addr().String()
}

// Bots play the arena on a real server, with permessage-deflate inflated
// outside gws, and the report carries the server's figures.
func TestRunAgainstNetcode(t *testing.T) {
	url := startNetcode(t)
	r, rep := runBots(t, RunConfig{URL: url, Rooms: 2, Players: 4, Duration: time.Second, RampUp: 200 * time.Millisecond,
		RoomPrefix: "arena", Seed: 3})
	if err := rep.Failed(); err != nil {
		t.Fatal(err)
	}
	if !rep.Deflate || rep.ClientsJoined != 8 || rep.BadFrames != 0 || rep.UpdatesReceived == 0 {
		t.Errorf("deflate %v, joined %d, bad frames %d, updates %d", rep.Deflate, rep.ClientsJoined, rep.BadFrames, rep.UpdatesReceived)
	}
	if rep.ServerStatsError != "" || rep.ServerStateFramesOut <= 0 || rep.ServerRSSBytes != 1<<20 {
		t.Errorf("server stats: error %q, state frames %d, rss %d", rep.ServerStatsError, rep.ServerStateFramesOut, rep.ServerRSSBytes)
	}
	// Compressed frames arrived and were inflated: more payload than wire.
	for _, c := range r.Clients() {
		if s := c.Stats(); !s.Deflate || s.PayloadBytes <= s.WireBytes || s.Desyncs != 0 {
			t.Errorf("bot %s: deflate %v, payload %d wire %d bytes, desyncs %d", s.Name, s.Deflate, s.PayloadBytes, s.WireBytes, s.Desyncs)
		}
	}
	var page strings.Builder
	if err := rep.WriteHTML(&page); err != nil || !strings.Contains(page.String(), "<svg") {
		t.Errorf("html report: %v", err)
	}

	// Without compression the server sends plain frames.
	_, plain := runBots(t, RunConfig{URL: url, Players: 2, Duration: 300 * time.Millisecond, DisableCompression: true,
		RoomPrefix: "plain", Behaviour: "idle"})
	if err := plain.Failed(); err != nil || plain.Deflate || plain.UpdatesReceived == 0 {
		t.Errorf("plain run: deflate %v, updates %d, %v", plain.Deflate, plain.UpdatesReceived, err)
	}
}
