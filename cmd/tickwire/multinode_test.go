package main

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/internal/redistest"
)

// TestTwoNodesShareOneLobby runs two server processes on one redis-server.
// Bots queue on either node; matches land on both nodes; afterwards both
// nodes' leaderboards agree and hold every final score.
func TestTwoNodesShareOneLobby(t *testing.T) {
	rs := redistest.Start(t)
	common := []string{"--store", "redis", "--redis-url", "redis://" + rs.Addr, "--ticket-secret", "shared-secret-for-tests",
		"--modes", "arena:4:3s", "--match-interval", "200ms"}
	a := startProcess(t, freeAddr(t), append([]string{"--node-id", "node-a"}, common...)...)
	b := startProcess(t, freeAddr(t), append([]string{"--node-id", "node-b"}, common...)...)
	waitNodes(t, a, 2)

	const perNode, players = 4, 4 // 16 bots per node queue, rooms of 4
	var wg sync.WaitGroup
	runners := make([]*bots.Runner, 2)
	reports := make([]bots.Report, 2)
	for i, p := range []*process{a, b} {
		lob, err := bots.NewLobby(p.url())
		if err != nil {
			t.Fatal(err)
		}
		r, err := bots.NewRunner(bots.RunConfig{
			URL: p.url(), Rooms: perNode, Players: players, Duration: 30 * time.Second, Behaviour: "chase",
			Seed: uint64(i + 1), Seat: bots.MatchmakingSeats(lob, "arena", p.addr, players),
		})
		if err != nil {
			t.Fatal(err)
		}
		runners[i] = r
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			reports[i], _ = r.Run(ctx)
		})
	}
	wg.Wait()
	for i, rep := range reports {
		if rep.ClientsJoined != perNode*players || rep.JoinFailures != 0 || rep.Desyncs != 0 {
			t.Fatalf("node %d's bots: %d joined, %d failed (%s), %d desyncs", i, rep.ClientsJoined, rep.JoinFailures, rep.FirstJoinError, rep.Desyncs)
		}
		if rep.MatchesEnded == 0 {
			t.Fatalf("node %d's bots saw no match end", i)
		}
	}
	for _, p := range []*process{a, b} {
		if n := statsOf(t, p).RoomsCreated; n == 0 {
			t.Fatalf("%v hosted no room: matches were not spread over the nodes", p)
		}
	}
	// Both nodes read the same boards, with every bot's final score.
	for i, p := range []*process{a, b} {
		lob, _ := bots.NewLobby(p.url())
		ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
		var all []*bots.Client
		all = append(all, runners[0].Clients()...)
		all = append(all, runners[1].Clients()...)
		checked, bad := bots.CheckLeaderboard(ctx, lob, "arena", all)
		cancel()
		if checked != 2*perNode*players || bad != 0 {
			t.Fatalf("leaderboard via node %d: %d checked, %d missing", i, checked, bad)
		}
	}
	ea, eb := entries(t, a), entries(t, b)
	if len(ea) != 2*perNode*players || !reflect.DeepEqual(ea, eb) {
		t.Fatalf("the nodes' leaderboards differ:\n%v\n%v", ea, eb)
	}
}

func waitNodes(t *testing.T, p *process, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var body struct {
			Nodes []json.RawMessage `json:"nodes"`
		}
		resp, err := http.Get("http://" + p.addr + "/v1/nodes")
		if err == nil && decodeJSON(resp, &body) == nil && len(body.Nodes) >= want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("fewer than %d nodes registered within 10s", want)
}

type nodeStats struct {
	RoomsCreated uint64 `json:"rooms_created"`
}

func statsOf(t *testing.T, p *process) nodeStats {
	t.Helper()
	var s nodeStats
	resp, err := http.Get("http://" + p.addr + "/v1/stats")
	if err != nil || decodeJSON(resp, &s) != nil {
		t.Fatalf("stats of %v: %v", p, err)
	}
	return s
}

func entries(t *testing.T, p *process) []map[string]any {
	t.Helper()
	var body struct {
		Entries []map[string]any `json:"entries"`
	}
	resp, err := http.Get("http://" + p.addr + "/v1/leaderboards/arena/entries?limit=100")
	if err != nil || decodeJSON(resp, &body) != nil {
		t.Fatalf("entries of %v: %v", p, err)
	}
	return body.Entries
}
