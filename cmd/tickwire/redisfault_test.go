package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/internal/redistest"
)

// TestRedisFaultRoomsTickLobbyAnswers503AndRecovers takes the one Redis of
// two server processes away in the middle of a run (first it hangs, then it
// is killed) and brings it back on the same port with its data (an
// append-only file). While it is away the rooms
// already running keep ticking for their bots, a match that ends meanwhile
// keeps its result, and every lobby call that needs the store answers 503
// store_unavailable at once instead of hanging. Once it is back, the lobby
// answers again by itself, the nodes re-register, the result held during the
// outage reaches the leaderboard, and a new match is made. A join ticket
// handed out before the outage can be used during it.
func TestRedisFaultRoomsTickLobbyAnswers503AndRecovers(t *testing.T) {
	rs := redistest.StartDurable(t)
	common := []string{"--store", "redis", "--redis-url", "redis://" + rs.Addr, "--ticket-secret", "shared-secret-for-tests",
		"--api-key", "k", "--modes", "long:4,quick:2:3s", "--match-interval", "200ms", "--store-timeout", "1s"}
	a := startProcess(t, freeAddr(t), append([]string{"--node-id", "node-a"}, common...)...)
	b := startProcess(t, freeAddr(t), append([]string{"--node-id", "node-b"}, common...)...)
	waitNodes(t, a, 2)
	client := &http.Client{Timeout: 10 * time.Second} // a lobby call that hangs fails the test
	if st, code := lobbyCall(t, client, "POST", a, "/v1/leaderboards/long/scores", `{"player_id":"before","score":42}`); st != http.StatusOK {
		t.Fatalf("score before the outage: %d %s", st, code)
	}

	// Two rooms of four bots with no time limit on node a, and a short match
	// on node b that ends while Redis is away.
	long := startRun(t, a, bots.RunConfig{Rooms: 2, Players: 4, Behaviour: "chase", Seed: 1}, "long", "fa")
	quick := startRun(t, b, bots.RunConfig{Rooms: 1, Players: 2, Behaviour: "chase", Seed: 2, Duration: 30 * time.Second}, "quick", "fq")
	long.waitJoined(t, 8)
	quick.waitJoined(t, 2)
	// A seat handed out before the outage, to be taken during it.
	lobA, _ := bots.NewLobby(a.url())
	room, err := lobA.CreateRoom(t.Context(), "long", false)
	if err != nil {
		t.Fatal(err)
	}
	seat, err := lobA.JoinRoom(t.Context(), room.RoomID, "p-late", "late")
	if err != nil {
		t.Fatal(err)
	}
	ticks := map[string]uint64{}
	for _, c := range long.runner.Clients() {
		ticks[c.Stats().Name] = c.State().Tick
	}

	// First Redis hangs (it answers nothing), then it is gone (killed).
	rs.Freeze(t)
	t.Log("redis-server frozen")
	checkStoreUnavailable(t, client, []*process{a, b}, "frozen")
	rs.Stop()
	t.Log("redis-server killed")
	checkStoreUnavailable(t, client, []*process{a, b}, "killed")
	// Join tickets are checked on the node: a seat from before still works.
	late, err := bots.Dial(t.Context(), bots.Config{URL: seat.URL, RoomID: seat.RoomID, Ticket: seat.Ticket, Name: "late"})
	if err != nil {
		t.Fatalf("joining with a seat handed out before the outage: %v", err)
	}
	_ = late.Close()
	// The short match ends during the outage; its bots saw all of it.
	qrep := quick.wait(t)
	if qrep.ClientsJoined != 2 || qrep.Desyncs != 0 || qrep.MatchesEnded != 1 {
		t.Fatalf("the match during the outage: %d joined, %d desyncs, %d matches ended", qrep.ClientsJoined, qrep.Desyncs, qrep.MatchesEnded)
	}
	// The rooms of node a kept ticking for every bot, in sync.
	for _, c := range long.runner.Clients() {
		st := c.Stats()
		if st.Closed || st.Desyncs != 0 || !c.Synced() {
			t.Fatalf("bot %s during the outage: closed %v, %d desyncs, synced %v", st.Name, st.Closed, st.Desyncs, c.Synced())
		}
		if got, was := c.State().Tick, ticks[st.Name]; got < was+uint64(st.TickRate) {
			t.Fatalf("bot %s mirrors tick %d, %d before the outage: its room did not keep ticking", st.Name, got, was)
		}
	}

	rs.Resume(t)
	t.Log("redis-server resumed")
	for _, p := range []*process{a, b} {
		waitFor(t, 20*time.Second, fmt.Sprintf("the lobby of %v answering GET /v1/rooms again", p), func() bool {
			st, _ := lobbyCall(t, client, "GET", p, "/v1/rooms", "")
			return st == http.StatusOK
		})
	}
	waitFor(t, 20*time.Second, "both nodes listed by GET /v1/nodes again", func() bool {
		var body struct {
			Nodes []struct {
				ID string `json:"id"`
			} `json:"nodes"`
		}
		resp, err := client.Get("http://" + b.addr + "/v1/nodes")
		if err != nil || decodeJSON(resp, &body) != nil {
			return false
		}
		ids := []string{}
		for _, n := range body.Nodes {
			ids = append(ids, n.ID)
		}
		return slices.Contains(ids, "node-a") && slices.Contains(ids, "node-b")
	})
	if st, code := lobbyCall(t, client, "GET", a, "/v1/leaderboards/long/players/before", ""); st != http.StatusOK {
		t.Fatalf("the score written before the outage: %d %s", st, code)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	checked, bad := bots.CheckLeaderboard(ctx, lobA, "quick", quick.runner.Clients())
	cancel()
	if checked != 2 || bad != 0 {
		t.Fatalf("the match that ended during the outage: %d scores checked, %d missing from the leaderboard", checked, bad)
	}

	// A new match through matchmaking, after the outage.
	lobB, _ := bots.NewLobby(b.url())
	fresh := startRunSeats(t, b, bots.RunConfig{Rooms: 1, Players: 2, Behaviour: "chase", Seed: 3, Duration: 30 * time.Second},
		bots.MatchmakingSeats(lobB, "quick", "fn", 2))
	frep := fresh.wait(t)
	if frep.ClientsJoined != 2 || frep.JoinFailures != 0 || frep.Desyncs != 0 || frep.MatchesEnded != 1 {
		t.Fatalf("the match after the outage: %d joined, %d failed (%s), %d desyncs, %d ended",
			frep.ClientsJoined, frep.JoinFailures, frep.FirstJoinError, frep.Desyncs, frep.MatchesEnded)
	}

	for _, c := range long.runner.Clients() {
		if st := c.Stats(); st.Closed || st.Desyncs != 0 {
			t.Fatalf("bot %s after the outage: closed %v, %d desyncs", st.Name, st.Closed, st.Desyncs)
		}
	}
	long.cancel()
	lrep := long.wait(t)
	if lrep.ClientsJoined != 8 || lrep.Desyncs != 0 || lrep.BadFrames != 0 {
		t.Fatalf("the long rooms: %d joined, %d desyncs, %d bad frames", lrep.ClientsJoined, lrep.Desyncs, lrep.BadFrames)
	}
	t.Logf("long rooms: %d of %d updates (%d ticks missed), latency p99 %.1f ms",
		lrep.UpdatesReceived, lrep.UpdatesExpected, lrep.FramesMissed, lrep.LatencyP99Ms)
	// Twelve failed requests per node log at most five lines per 10s (ten,
	// should the outage straddle two periods); every line, go-redis's own
	// included, is one JSON event.
	for _, p := range []*process{a, b} {
		p.kill()
		log := p.log.String()
		lines := strings.Split(strings.TrimSpace(log), "\n")
		for _, line := range lines {
			if line != "" && !strings.HasPrefix(line, "{") || strings.Contains(line, "panic") {
				t.Fatalf("%v logged a line that is not a JSON event, or a panic: %s\nits log:\n%s", p, line, log)
			}
		}
		if n := strings.Count(log, "lobby request failed"); n > 10 || len(lines) > 100 {
			t.Fatalf("%v logged %d lines, %d of them failed requests, for one outage:\n%s", p, len(lines), n, log)
		}
		t.Logf("%v logged %d lines", p, len(lines))
	}
}

// checkStoreUnavailable makes lobby calls that need the store on every node
// at once, and checks that each answers 503 store_unavailable with a message
// and a Retry-After before the client's timeout.
func checkStoreUnavailable(t *testing.T, client *http.Client, nodes []*process, redis string) {
	t.Helper()
	calls := []struct{ method, path, body string }{
		{"GET", "/v1/rooms", ""},
		{"POST", "/v1/rooms", `{"mode":"long"}`},
		{"POST", "/v1/matchmaking/tickets", `{"player_id":"p-outage","mode":"quick"}`},
		{"GET", "/v1/leaderboards/long/entries", ""},
		{"GET", "/v1/leaderboards/long/players/before", ""},
		{"GET", "/v1/nodes", ""},
	}
	var wg sync.WaitGroup
	for _, p := range nodes {
		for _, c := range calls {
			wg.Go(func() {
				st, code, msg, retry, err := lobbyError(client, c.method, p, c.path, c.body)
				if err != nil {
					t.Errorf("%s %s on %v with Redis %s: %v", c.method, c.path, p, redis, err)
				} else if st != http.StatusServiceUnavailable || code != "store_unavailable" || !strings.Contains(msg, "store") || retry == "" {
					t.Errorf("%s %s on %v with Redis %s: %d %q %q (Retry-After %q), want 503 store_unavailable with a message and Retry-After",
						c.method, c.path, p, redis, st, code, msg, retry)
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// botRun is a bots.Runner running in the background.
type botRun struct {
	runner *bots.Runner
	cancel context.CancelFunc
	done   chan bots.Report
}

func startRun(t *testing.T, p *process, cfg bots.RunConfig, mode, prefix string) *botRun {
	t.Helper()
	lob, err := bots.NewLobby(p.url())
	if err != nil {
		t.Fatal(err)
	}
	return startRunSeats(t, p, cfg, bots.RoomSeats(lob, mode, prefix))
}

func startRunSeats(t *testing.T, p *process, cfg bots.RunConfig, seats func(ctx context.Context, room, n int, name string) (bots.Seat, error)) *botRun {
	t.Helper()
	cfg.URL, cfg.Seat = p.url(), seats
	r, err := bots.NewRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	br := &botRun{runner: r, cancel: cancel, done: make(chan bots.Report, 1)}
	go func() {
		rep, _ := r.Run(ctx)
		br.done <- rep
	}()
	t.Cleanup(func() { cancel(); <-br.done })
	return br
}

func (br *botRun) waitJoined(t *testing.T, n int) {
	t.Helper()
	waitFor(t, 20*time.Second, fmt.Sprintf("%d bots joined (errors: %v)", n, br.runner.JoinErrors()), func() bool {
		return len(br.runner.Clients()) >= n
	})
}

// wait returns the run's report, once; it fails the test after a minute.
func (br *botRun) wait(t *testing.T) bots.Report {
	t.Helper()
	select {
	case rep := <-br.done:
		br.done <- rep // for the cleanup
		return rep
	case <-time.After(time.Minute):
		t.Fatal("a bot run did not end within a minute")
		return bots.Report{}
	}
}

// waitFor polls cond every 50 ms until it holds, failing the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	if !eventually(limit, cond) {
		t.Fatalf("not within %v: %s", limit, what)
	}
}

// eventually polls cond every 50 ms until it holds (true) or limit passes.
func eventually(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// lobbyCall makes one API call with the test's API key and returns the
// status and, for an error, its code.
func lobbyCall(t *testing.T, client *http.Client, method string, p *process, path, body string) (int, string) {
	t.Helper()
	st, code, _, _, err := lobbyError(client, method, p, path, body)
	if err != nil {
		t.Fatalf("%s %s on %v: %v", method, path, p, err)
	}
	return st, code
}

func lobbyError(client *http.Client, method string, p *process, path, body string) (status int, code, message, retryAfter string, err error) {
	req, err := http.NewRequest(method, "http://"+p.addr+path, strings.NewReader(body))
	if err != nil {
		return 0, "", "", "", err
	}
	req.Header.Set("Authorization", "Bearer k")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", "", "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		var e errorJSON
		if err := json.Unmarshal(b, &e); err != nil {
			return resp.StatusCode, "", "", "", fmt.Errorf("%s with a body that is not the JSON error: %q", resp.Status, b)
		}
		return resp.StatusCode, e.Error.Code, e.Error.Message, resp.Header.Get("Retry-After"), nil
	}
	return resp.StatusCode, "", "", "", nil
}

type errorJSON struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}
