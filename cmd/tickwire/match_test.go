package main

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/netcode"
)

// testNode is a full node (game server and embedded lobby) on a loopback port
// that records every room's final state.
type testNode struct {
	*node
	url   string
	mu    sync.Mutex
	final map[string]netcode.MatchResult
}

func startNode(t *testing.T, modes string, nc netcode.Config) *testNode {
	t.Helper()
	return startNodeWith(t, modes, nc, nil)
}

// startNodeWith is startNode with the lobby's config changed by edit (its
// store, say).
func startNodeWith(t *testing.T, modes string, nc netcode.Config, edit func(*lobbyConfig)) *testNode {
	t.Helper()
	tn := &testNode{final: map[string]netcode.MatchResult{}}
	nc.OnMatchEnd = func(m netcode.MatchResult) {
		tn.mu.Lock()
		tn.final[m.RoomID] = m
		tn.mu.Unlock()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lc := lobbyConfig{store: "embedded", dataDir: t.TempDir(), modes: modes, ticketTTL: time.Minute, matchInterval: 100 * time.Millisecond}
	if edit != nil {
		edit(&lc)
	}
	n, err := newNode(t.Context(), ln.Addr().String(), nc, &lc, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.http.Serve(ln) }()
	t.Cleanup(func() { _ = n.shutdown(context.Background()) })
	tn.node, tn.url = n, "ws://"+ln.Addr().String()
	return tn
}

func (tn *testNode) results() map[string]netcode.MatchResult {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	out := make(map[string]netcode.MatchResult, len(tn.final))
	for k, v := range tn.final {
		out[k] = v
	}
	return out
}

// TestBotMatch plays 4 rooms x 8 bots, seated through the lobby's room API, to
// the end of their matches against a real server on loopback, then checks what
// every bot saw against the server.
func TestBotMatch(t *testing.T) {
	const rooms, players = 4, 8
	tn := startNode(t, "arena:8:3s", netcode.Config{})
	lob, err := bots.NewLobby(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := bots.NewRunner(bots.RunConfig{
		URL: tn.url, Rooms: rooms, Players: players, Duration: 30 * time.Second,
		Behaviour: "chase", RoomPrefix: "match", Seed: 7, Seat: bots.RoomSeats(lob, "arena", "match"),
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := play(t, runner, rooms*players)
	checkAgainstServer(t, runner.Clients(), tn.results(), rooms)
	if rep.MatchesEnded != rooms {
		t.Fatalf("%d matches ended, want %d", rep.MatchesEnded, rooms)
	}
}

// TestBotMatchViaLobby queues 16 bots through matchmaking into rooms of 4,
// plays them to the end and checks the leaderboard holds every final score.
func TestBotMatchViaLobby(t *testing.T) {
	const rooms, players = 4, 4
	tn := startNode(t, "arena:4:3s", netcode.Config{})
	lob, err := bots.NewLobby(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := bots.NewRunner(bots.RunConfig{
		URL: tn.url, Rooms: rooms, Players: players, Duration: 30 * time.Second,
		Behaviour: "chase", Seed: 3, Seat: bots.MatchmakingSeats(lob, "arena", "mm", players),
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := play(t, runner, rooms*players)
	checkAgainstServer(t, runner.Clients(), tn.results(), rooms)
	if rep.QueueWaitMaxMs <= 0 {
		t.Fatal("no queue wait was recorded for matchmade bots")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	checked, bad := bots.CheckLeaderboard(ctx, lob, "arena", runner.Clients())
	if checked != rooms*players || bad != 0 {
		t.Fatalf("leaderboard: %d of %d final scores checked, %d missing", checked, rooms*players, bad)
	}
}

func play(t *testing.T, runner *bots.Runner, want int) bots.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	rep, err := runner.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ClientsJoined != want || rep.JoinFailures != 0 {
		t.Fatalf("%d of %d bots joined, %d failed: %v", rep.ClientsJoined, want, rep.JoinFailures, runner.JoinErrors())
	}
	if rep.Desyncs != 0 {
		t.Fatalf("%d desyncs", rep.Desyncs)
	}
	return rep
}

// checkAgainstServer compares every bot's final mirror and final scores with
// the server's final state of its room.
func checkAgainstServer(t *testing.T, clients []*bots.Client, final map[string]netcode.MatchResult, rooms int) {
	t.Helper()
	if len(final) != rooms {
		t.Fatalf("%d rooms ended, want %d", len(final), rooms)
	}
	var scored int64
	for _, c := range clients {
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
		t.Fatal("no bot scored: the matches did not really run")
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
		if g.ID != uint32(e.ID()) || g.Kind != e.Kind().ID() || !sameFields(&e.Kind().Fields, &e.Values, g.Record) {
			t.Fatalf("bot %s entity %d = %+v, server has %+v", bot, i, g, e)
		}
	}
	if len(got.Players) != len(want.Players) {
		t.Fatalf("bot %s mirrors %d players, server has %d", bot, len(got.Players), len(want.Players))
	}
	for i, p := range want.Players {
		g := got.Players[i]
		if g.ID != uint32(p.ID) || g.Score != p.Score || g.Name != p.Name || g.EntityID != uint32(p.Entity) ||
			len(g.Values) != len(p.Slots()) {
			t.Fatalf("bot %s player %d = %+v, server has %+v", bot, i, g, p)
		}
	}
}

// sameFields reports whether a mirror's record (by mask bit) holds the
// server's record (by slot), field by field.
func sameFields(shape *game.Fields, server *game.Values, mirror bots.Record) bool {
	for _, f := range shape.List() {
		if f.Type == game.TypeText {
			if f.Bit >= len(mirror.Texts) || mirror.Texts[f.Bit] != server.Texts()[f.Slot] {
				return false
			}
			continue
		}
		for c := range f.Type.Components() {
			if f.Bit+c >= len(mirror.Values) || mirror.Values[f.Bit+c] != server.Slots()[f.Slot+c] {
				return false
			}
		}
	}
	return true
}
