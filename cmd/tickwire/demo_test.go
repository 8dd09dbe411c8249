package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/netcode"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// demoListing is the demo room as GET /v1/rooms shows it.
type demoListing struct {
	ID       string `json:"room_id"`
	Mode     string `json:"mode"`
	Players  int    `json:"players"`
	Capacity int    `json:"capacity"`
	State    string `json:"state"`
}

// waitDemoRoom waits until the room list shows a running demo room with
// players players, and the page's /config.json names it; with notID set, a
// demo room of another id (the next match's).
func waitDemoRoom(t *testing.T, p *process, notID string, players int) demoListing {
	t.Helper()
	var last demoListing
	waitFor(t, 30*time.Second, "a running demo room in the room list", func() bool {
		var body struct {
			Rooms []demoListing `json:"rooms"`
		}
		resp, err := http.Get("http://" + p.addr + "/v1/rooms?limit=100")
		if err != nil || decodeJSON(resp, &body) != nil {
			return false
		}
		for _, r := range body.Rooms {
			if r.Mode == demoMode && r.ID != notID {
				last = r
			}
		}
		if last.ID == "" || last.Players != players || last.State != "running" {
			return false
		}
		var cfg struct {
			DemoRoom string `json:"demo_room"`
		}
		resp, err = http.Get("http://" + p.addr + "/config.json")
		return err == nil && decodeJSON(resp, &cfg) == nil && cfg.DemoRoom == last.ID
	})
	if !strings.HasPrefix(last.ID, "demo-") {
		t.Fatalf("demo room id %q: want demo-<n>", last.ID)
	}
	return last
}

// joinDemo seats a person in the demo room through the lobby's ordinary
// join, as the page does, and connects it.
func joinDemo(t *testing.T, lob *bots.Lobby, room, player string) *bots.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	seat, err := lob.JoinRoom(ctx, room, player, player)
	if err != nil {
		t.Fatalf("%s joins %s through the lobby: %v", player, room, err)
	}
	c, err := dialBot(t, bots.Config{URL: seat.URL, RoomID: seat.RoomID, Name: player, Ticket: seat.Ticket, Account: player, Behaviour: bots.NewRandom(5)})
	if err != nil {
		t.Fatalf("%s connects to %s: %v", player, room, err)
	}
	go func() { // plays as a person would: an input every 100 ms
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-c.Done():
				return
			case now := <-tk.C:
				_ = c.Act(now)
			}
		}
	}()
	return c
}

// avatarPositions maps each player's name to its avatar's position in c's
// mirror.
func avatarPositions(t *testing.T, c *bots.Client) map[string][2]int64 {
	t.Helper()
	sch := c.Schema()
	avatar, kind, ok := sch.Kind("avatar")
	if !ok {
		t.Fatal("the demo room's schema has no avatar kind: it is not the arena")
	}
	pos, ok := avatar.Field("pos")
	if !ok {
		t.Fatal("the arena avatar has no pos field")
	}
	st := c.State()
	ents := map[uint32][2]int64{}
	for _, e := range st.Entities {
		if e.Kind == kind {
			ents[e.ID] = [2]int64{e.Values[pos.Bit], e.Values[pos.Bit+1]}
		}
	}
	out := map[string][2]int64{}
	for _, pl := range st.Players {
		if xy, ok := ents[pl.EntityID]; ok {
			out[pl.Name] = xy
		}
	}
	return out
}

// waitAllMove waits until every one of names has been seen by c at two
// positions.
func waitAllMove(t *testing.T, c *bots.Client, names []string) {
	t.Helper()
	first := map[string][2]int64{}
	moved := map[string]bool{}
	waitFor(t, 15*time.Second, "every avatar moving in the watcher's mirror", func() bool {
		for name, xy := range avatarPositions(t, c) {
			if f, ok := first[name]; !ok {
				first[name] = xy
			} else if f != xy {
				moved[name] = true
			}
		}
		for _, n := range names {
			if !moved[n] {
				return false
			}
		}
		return true
	})
}

// waitDone waits for c's connection to close.
func waitDone(t *testing.T, c *bots.Client, what string) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: the connection did not close within 30 s", what)
	}
}

// TestDemoRoomPlaysOn runs tickwire serve --demo-bots 3 with 6 s matches: the
// room list shows the demo room with its 3 bots, a spectator sees their
// avatars move with no desync, a person joins through the lobby and plays
// beside them to the match's end, and the next demo room is then there with
// the 3 bots again, for the page to follow and the person to join.
func TestDemoRoomPlaysOn(t *testing.T) {
	p := startProcess(t, freeAddr(t), "--data-dir", t.TempDir(), "--demo-bots", "3", "--modes", "arena:6:6s,duel:2:1m")
	lob, err := bots.NewLobby(p.url())
	if err != nil {
		t.Fatal(err)
	}
	defer lob.CloseIdleConnections()
	room := waitDemoRoom(t, p, "", 3)
	if room.Capacity != 6 {
		t.Fatalf("demo room has %d seats; want the 6 of mode arena", room.Capacity)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	watch, err := lob.Spectate(ctx, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := dialBot(t, bots.Config{URL: watch.URL, RoomID: watch.RoomID, Name: "watcher", Ticket: watch.Ticket, Spectate: true})
	if err != nil {
		t.Fatal(err)
	}
	ann := joinDemo(t, lob, room.ID, "ann")
	if n := len(ann.State().Players); n != 4 {
		t.Fatalf("ann's Welcome shows %d players; want the 3 bots and her", n)
	}
	waitAllMove(t, spec, []string{"demo bot 1", "demo bot 2", "demo bot 3", "ann"})

	waitDone(t, ann, "ann in the first demo match")
	waitDone(t, spec, "the spectator of the first demo match")
	as, ss := ann.Stats(), spec.Stats()
	if as.MatchEnd == nil || !as.MatchEnd.Verified || as.MatchEnd.Reason != pb.MatchEndReason_MATCH_END_REASON_TIME_LIMIT || as.Desyncs != 0 {
		t.Fatalf("ann: match end %+v, %d desyncs; want a verified time limit and none", as.MatchEnd, as.Desyncs)
	}
	if ss.Desyncs != 0 || ss.MatchEnd == nil || !ss.MatchEnd.Verified || len(ss.MatchEnd.Scores) != 4 {
		t.Fatalf("spectator: %d desyncs, match end %+v; want none and a verified end with 4 scores", ss.Desyncs, ss.MatchEnd)
	}
	if as.InputsSent == 0 {
		t.Fatal("ann sent no inputs")
	}

	next := waitDemoRoom(t, p, room.ID, 3)
	ann2 := joinDemo(t, lob, next.ID, "ann")
	if n := len(ann2.State().Players); n != 4 {
		t.Fatalf("ann's Welcome in the next demo room shows %d players; want 4", n)
	}

	// The demo room's mode is a house mode: no leaderboards, not queueable.
	var boards struct {
		Leaderboards []struct {
			ID string `json:"id"`
		} `json:"leaderboards"`
	}
	resp, err := http.Get("http://" + p.addr + "/v1/leaderboards")
	if err != nil || decodeJSON(resp, &boards) != nil {
		t.Fatalf("GET /v1/leaderboards: %v", err)
	}
	for _, b := range boards.Leaderboards {
		if strings.HasPrefix(b.ID, demoMode) {
			t.Fatalf("a leaderboard %q for the demo room: its scores must go nowhere", b.ID)
		}
	}
	qctx, qcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer qcancel()
	if _, err := lob.Queue(qctx, demoMode, "bob", "Bob", 0); err == nil || !strings.Contains(err.Error(), "unknown_mode") {
		t.Fatalf("queueing for the demo mode: %v; want unknown_mode", err)
	}
	// A clean exit after two demo matches: under -race the server is built
	// with the race detector, and a race would make it exit 66.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitExit(t, p, 30*time.Second)
}

// TestDemoBotsDoNotHoldTheSIGTERMDrain runs a demo room (TICKWIRE_DEMO_BOTS,
// the flag's environment twin) of 10 min matches with a person in it beside
// the bots, on a node whose drain may take 10 min: SIGTERM ends the demo
// match at once (SHUTDOWN, going away), so the process exits in no time
// and never waits the drain out, and it said once that the demo room
// started.
func TestDemoBotsDoNotHoldTheSIGTERMDrain(t *testing.T) {
	t.Setenv("TICKWIRE_DEMO_BOTS", "3")
	p := startProcess(t, freeAddr(t), "--data-dir", t.TempDir(), "--modes", "arena:8:10m", "--shutdown-timeout", "10m", "--log-level", "info")
	lob, err := bots.NewLobby(p.url())
	if err != nil {
		t.Fatal(err)
	}
	defer lob.CloseIdleConnections()
	room := waitDemoRoom(t, p, "", 3)
	ann := joinDemo(t, lob, room.ID, "ann")
	if again := waitDemoRoom(t, p, "", 4); again.ID != room.ID { // ann is a player of the room as any
		t.Fatalf("demo room %s became %s", room.ID, again.ID)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ann, "ann in the demo room on SIGTERM")
	checkClosed(t, []*bots.Client{ann}, 1001, pb.MatchEndReason_MATCH_END_REASON_SHUTDOWN)
	waitExit(t, p, 30*time.Second)

	started := 0
	sc := bufio.NewScanner(strings.NewReader(p.log.String()))
	for sc.Scan() {
		var line struct {
			Message string `json:"message"`
			Room    string `json:"room"`
			Bots    int    `json:"bots"`
			Seats   int    `json:"seats"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "demo room started" {
			started++
			if line.Room != room.ID || line.Bots != 3 || line.Seats != 8 {
				t.Errorf("demo room started line %s: want room %s, 3 bots, 8 seats", sc.Text(), room.ID)
			}
		}
	}
	if started != 1 {
		t.Fatalf("%d \"demo room started\" lines; want 1; output:\n%s", started, p.log)
	}
}

// TestDemoBotsFlagErrors: a --demo-bots the node cannot keep stops serve at
// start with a usage error naming the flag.
func TestDemoBotsFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"negative", []string{"--demo-bots", "-1"}, "--demo-bots -1: want 0 (no demo room) to 64"},
		{"past the bound", []string{"--demo-bots", "65"}, "--demo-bots 65: want 0 (no demo room) to 64"},
		{"no seat left for people", []string{"--demo-bots", "16"}, "--demo-bots 16: the demo room has the 16 seats of mode arena (--modes) and keeps at least one for people; want at most 15"},
		{"no arena mode", []string{"--demo-bots", "2", "--modes", "c4:2:10m:connect4"}, "--demo-bots: the demo room plays arena"},
		{"a mode named demo", []string{"--demo-bots", "2", "--modes", "arena:16:2m,demo:4:1m"}, `--demo-bots: --modes has a mode named "demo"`},
		{"not a number", []string{"--demo-bots", "some"}, `invalid value "some" for flag -demo-bots`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, tc.args...)
			if code := run(args, &stderr, &stderr); code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("serve %v: exit %d, %q; want exit %d and %q", tc.args, code, stderr.String(), exitUsage, tc.want)
			}
		})
	}
	t.Run("environment", func(t *testing.T) {
		t.Setenv("TICKWIRE_DEMO_BOTS", "99")
		var stderr strings.Builder
		if code := run([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, &stderr, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "--demo-bots 99") {
			t.Fatalf("TICKWIRE_DEMO_BOTS=99: exit %d, %q; want a usage error naming --demo-bots", code, stderr.String())
		}
	})
}

// cutProxy forwards loopback TCP connections to a target and can cut them
// all at once, as a network failure would: no close frame, no Leave.
type cutProxy struct {
	ln       net.Listener
	mu       sync.Mutex // guards conns and accepted
	conns    []net.Conn
	accepted int
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(func() { _ = ln.Close(); p.cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.accepted++
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
			go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
		}
	}()
	return p
}

// cut closes every connection forwarded so far.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// TestDemoBotsComeBackAfterADrop cuts the demo bots' connections (through a
// proxy in front of the node): each bot reconnects and takes its held seat
// back, so the room keeps the same 3 players, and none is added.
func TestDemoBotsComeBackAfterADrop(t *testing.T) {
	tn := startNode(t, "arena:6:10m", netcode.Config{})
	cfg, err := newDemoConfig(3, "arena:6:10m", 20)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startCutProxy(t, strings.TrimPrefix(tn.url, "ws://"))
	tn.startDemo(cfg, proxy.ln.Addr().String(), zerolog.Nop())
	waitFor(t, 20*time.Second, "3 demo bots in demo-1", func() bool {
		rs := tn.game.Rooms()
		return len(rs) == 1 && rs[0].ID == "demo-1" && rs[0].Players == 3 && tn.game.Stats().Connections == 3
	})
	lob, err := bots.NewLobby(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	defer lob.CloseIdleConnections()
	watch, err := lob.Spectate(t.Context(), "demo-1")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := dialBot(t, bots.Config{URL: watch.URL, RoomID: watch.RoomID, Name: "watcher", Ticket: watch.Ticket, Spectate: true})
	if err != nil {
		t.Fatal(err)
	}
	seats := func() []uint32 {
		var ids []uint32
		for _, p := range spec.State().Players {
			ids = append(ids, p.ID)
		}
		return ids
	}
	before := seats()
	if len(before) != 3 {
		t.Fatalf("spectator sees players %v; want the 3 bots", before)
	}

	proxy.cut()
	waitFor(t, 20*time.Second, "the 3 bots back in their held seats", func() bool {
		st := tn.game.Stats()
		return proxy.count() == 6 && st.SeatsHeld == 3 && st.Rejoins == 3 && st.Connections == 4
	})
	if after := seats(); !slices.Equal(after, before) {
		t.Fatalf("players after the drop %v; want the same seats %v", after, before)
	}
	waitAllMove(t, spec, []string{"demo bot 1", "demo bot 2", "demo bot 3"})
	if rs := tn.game.Rooms(); len(rs) != 1 || rs[0].ID != "demo-1" || rs[0].Players != 3 {
		t.Fatalf("rooms after the drop: %+v; want demo-1 with its 3 bots", rs)
	}
	if d := spec.Stats().Desyncs; d != 0 {
		t.Fatalf("spectator: %d desyncs", d)
	}
}
