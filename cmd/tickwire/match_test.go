package main

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/netcode"
)

// TestBotMatch plays 4 rooms x 8 bots to the end of their matches against a real
// server on loopback, then checks what every bot saw against the server.
func TestBotMatch(t *testing.T) {
	const rooms, players = 4, 8
	var mu sync.Mutex
	final := map[string]netcode.MatchResult{}
	n, err := newNode(netcode.Config{
		OpenRooms: true,
		Rules:     game.Rules{MaxPlayers: players, MinPlayers: players, DurationTicks: 3 * 20},
		OnMatchEnd: func(m netcode.MatchResult) {
			mu.Lock()
			final[m.RoomID] = m
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.http.Serve(ln) }()
	defer func() { _ = n.shutdown(context.Background()) }()

	runner, err := bots.NewRunner(bots.RunConfig{
		URL: "ws://" + ln.Addr().String(), Rooms: rooms, Players: players,
		Duration: 30 * time.Second, Behaviour: "chase", RoomPrefix: "match", Seed: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := runner.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ClientsJoined != rooms*players || rep.JoinFailures != 0 {
		t.Fatalf("%d of %d bots joined, %d failed: %v", rep.ClientsJoined, rooms*players, rep.JoinFailures, runner.JoinErrors())
	}
	if rep.Desyncs != 0 {
		t.Fatalf("%d desyncs", rep.Desyncs)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(final) != rooms {
		t.Fatalf("%d rooms ended, want %d", len(final), rooms)
	}
	var scored int64
	for _, c := range runner.Clients() {
		st := c.Stats()
		m, ok := final[st.RoomID]
		if !ok {
			t.Fatalf("bot %s: its room %s did not end on the server", st.Name, st.RoomID)
		}
		checkMirror(t, st.Name, c.State(), m)
		end := st.MatchEnd
		if end == nil || !end.Verified {
			t.Fatalf("bot %s: match end %+v, want one verified against the mirror", st.Name, end)
		}
		if len(end.Scores) != len(m.Result.Standings) {
			t.Fatalf("bot %s saw %d final scores, server has %d", st.Name, len(end.Scores), len(m.Result.Standings))
		}
		for i, s := range m.Result.Standings {
			got := end.Scores[i]
			if got.PlayerID != uint32(s.Player) || got.Score != s.Score || got.Rank != uint32(s.Rank) || got.Name != s.Name {
				t.Fatalf("bot %s final score %d = %+v, server has %+v", st.Name, i, got, s)
			}
			scored += s.Score
		}
	}
	if scored == 0 {
		t.Fatal("no bot scored: the match did not really run")
	}
}

// checkMirror compares a bot's final mirror with the server's final state.
func checkMirror(t *testing.T, bot string, got bots.State, want netcode.MatchResult) {
	t.Helper()
	if got.Tick != want.Result.Tick || got.Checksum != want.Checksum {
		t.Fatalf("bot %s mirror at tick %d checksum %08x, server ended at %d with %08x",
			bot, got.Tick, got.Checksum, want.Result.Tick, want.Checksum)
	}
	if len(got.Entities) != len(want.Entities) {
		t.Fatalf("bot %s mirrors %d entities, server has %d", bot, len(got.Entities), len(want.Entities))
	}
	for i, e := range want.Entities {
		g := got.Entities[i]
		if g.ID != uint32(e.ID) || g.Kind != e.Kind || g.X != e.X || g.Y != e.Y || g.Angle != uint32(e.Angle) || g.Value != e.Value {
			t.Fatalf("bot %s entity %d = %+v, server has %+v", bot, i, g, e)
		}
	}
	if len(got.Players) != len(want.Players) {
		t.Fatalf("bot %s mirrors %d players, server has %d", bot, len(got.Players), len(want.Players))
	}
	for i, p := range want.Players {
		g := got.Players[i]
		if g.ID != uint32(p.ID) || g.Score != p.Score || g.Name != p.Name || g.EntityID != uint32(p.Entity) {
			t.Fatalf("bot %s player %d = %+v, server has %+v", bot, i, g, p)
		}
	}
}
