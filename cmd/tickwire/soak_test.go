package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/lobby/directory"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/proto/tickwirev1"
)

var soakFor = flag.Duration("soak", 15*time.Second,
	"how long TestSoak plays waves of bots; the CI default is short, -soak=5m (with a -timeout above it) is the long form")

// Soak bounds. A wave is soakBots bots in 4 rooms; soakWaves of them play at once.
const (
	soakWaves      = 2
	soakBots       = 14
	soakAccounts   = 8 // lobby player ids are reused across waves, so leaderboards stay bounded
	soakSettle     = time.Minute
	goroutineSlack = 5
	heapSlack      = 2 << 20 // besides a quarter of the baseline
)

// TestSoak plays waves of bots against one in-process node, on real loopback
// sockets, for -soak (default 15 s). Each wave fills a lobby room and a
// matchmade room whose matches run to their end, and two open rooms to
// capacity (a fifth bot is refused),
// whose bots then leave: half of them with Leave, half by losing their TCP
// connection abruptly (their seats are held for the rejoin grace, then
// freed). Afterwards, once the empty rooms are reaped, the
// server holds no room (in the game server or the lobby's directory) and no
// connection, and the process's goroutines and heap are back near their
// level after a first warm-up wave.
func TestSoak(t *testing.T) {
	tn := startNode(t, "arena:4:3s,duel:2:2s", netcode.Config{
		OpenRooms:        true,
		Rules:            game.Rules{MaxPlayers: 4, MinPlayers: 1},
		EmptyRoomTimeout: 500 * time.Millisecond,
		RejoinGrace:      time.Second, // a dropped bot's seat is held this long, then the room empties
	})
	lob, err := bots.NewLobby(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	// The first wave warms up what is made once per process (pools, the
	// bots' shared inflaters, the stores' caches); the baseline follows it.
	if err := soakWave(t.Context(), tn, lob, 0); err != nil {
		t.Fatalf("warm-up wave: %v", err)
	}
	settleServer(t, tn, lob)
	tn.forgetResults()
	baseG, baseProfile := goroutines()
	baseHeap := heapInUse()
	t.Logf("baseline after the warm-up wave: %d goroutines, heap %.1f MiB", baseG, mib(baseHeap))

	deadline := time.Now().Add(*soakFor)
	var (
		wg    sync.WaitGroup
		slots = make(chan struct{}, soakWaves) // one per wave playing
		mu    sync.Mutex                       // guards errs
		errs  []error
		waves int
	)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for w := 1; time.Now().Before(deadline) && ctx.Err() == nil; w++ {
		slots <- struct{}{}
		waves++
		wg.Go(func() {
			defer func() { <-slots }()
			if err := soakWave(ctx, tn, lob, w); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("wave %d: %w", w, err))
				mu.Unlock()
				cancel()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	st := tn.game.Stats()
	t.Logf("%d waves after the warm-up, %d bots in all: %d connections, %d rooms created",
		waves, (waves+1)*soakBots, st.ConnectionsTotal, st.RoomsCreated)

	settleServer(t, tn, lob)
	tn.forgetResults()
	if !eventually(20*time.Second, func() bool { n, _ := goroutines(); return n <= baseG+goroutineSlack }) {
		n, profile := goroutines()
		t.Fatalf("%d goroutines 20s after the soak, %d at the baseline; the extra ones:\n%s", n, baseG, extraGoroutines(baseProfile, profile))
	}
	var heap uint64
	heapLimit := baseHeap + baseHeap/4 + heapSlack
	if !eventually(10*time.Second, func() bool { heap = heapInUse(); return heap <= heapLimit }) {
		t.Fatalf("heap in use %.1f MiB 10s after the soak, %.1f MiB at the baseline (limit %.1f MiB)", mib(heap), mib(baseHeap), mib(heapLimit))
	}
	n, _ := goroutines()
	t.Logf("after the soak: %d goroutines (baseline %d), heap %.1f MiB (baseline %.1f MiB)", n, baseG, mib(heap), mib(baseHeap))
}

// soakWave plays one wave: a lobby room of 4 bots and a matchmade room of 2
// to the end of their matches, and two open rooms of 4, 2 bots each leaving with Leave and 2 dropping
// their connection (through a proxy that resets it).
func soakWave(ctx context.Context, tn *testNode, lob *bots.Lobby, w int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	proxy, err := startDropProxy(strings.TrimPrefix(tn.url, "ws://"))
	if err != nil {
		return err
	}
	defer proxy.close()
	prefix := fmt.Sprintf("soak-w%d", w)
	type run struct {
		name   string
		cfg    bots.RunConfig
		r      *bots.Runner
		cancel context.CancelFunc
		rep    bots.Report
	}
	runs := []*run{
		{name: "lobby room", cfg: bots.RunConfig{URL: tn.url, Rooms: 1, Players: 4, Behaviour: "chase", Duration: 30 * time.Second,
			Seat: bots.RoomSeats(lob, "arena", fmt.Sprintf("soak%d", w%soakAccounts))}},
		{name: "leavers", cfg: bots.RunConfig{URL: tn.url, Rooms: 2, Players: 2, RoomPrefix: prefix}},
		{name: "droppers", cfg: bots.RunConfig{URL: proxy.url(), Rooms: 2, Players: 2, RoomPrefix: prefix, Behaviour: "chase"}},
		{name: "matchmaking", cfg: bots.RunConfig{URL: tn.url, Rooms: 1, Players: 2, Behaviour: "chase", Duration: 30 * time.Second,
			Seat: bots.MatchmakingSeats(lob, "duel", fmt.Sprintf("soak-mm%d", w%soakAccounts), 2)}},
	}
	var wg sync.WaitGroup
	for i, r := range runs {
		r.cfg.Seed = uint64(w*10 + i)
		if r.r, err = bots.NewRunner(r.cfg); err != nil {
			return err
		}
		var rctx context.Context
		rctx, r.cancel = context.WithCancel(ctx)
		defer r.cancel()
		wg.Go(func() { r.rep, _ = r.r.Run(rctx) })
	}
	defer wg.Wait()

	// Both open rooms fill up; a fifth bot is refused.
	for !(len(runs[1].r.Clients()) == 4 && len(runs[2].r.Clients()) == 4) {
		if errs := append(runs[1].r.JoinErrors(), runs[2].r.JoinErrors()...); len(errs) > 0 {
			return fmt.Errorf("open room joins: %w", errors.Join(errs...))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("open rooms not filled: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	extra, err := bots.Dial(ctx, bots.Config{URL: tn.url, RoomID: prefix + "-0", Name: "extra"})
	var se *bots.ServerError
	if !errors.As(err, &se) || se.Code != tickwirev1.ErrorCode_ERROR_CODE_ROOM_FULL {
		if extra != nil {
			_ = extra.Close()
		}
		return fmt.Errorf("a fifth bot in the full room %s-0: %v, want ROOM_FULL", prefix, err)
	}

	// Then they empty, the leavers and droppers in either order.
	rnd := rand.New(rand.NewPCG(uint64(w), 0))
	pause := func() { time.Sleep(time.Duration(200+rnd.IntN(800)) * time.Millisecond) }
	pause()
	if w%2 == 0 {
		proxy.drop()
		pause()
		runs[1].cancel() // the runner sends Leave when its run is cut short
	} else {
		runs[1].cancel()
		pause()
		proxy.drop()
	}
	wg.Wait()
	for _, r := range runs {
		rep, want := r.rep, r.cfg.Rooms*r.cfg.Players
		if rep.ClientsJoined != want || rep.JoinFailures != 0 || rep.Desyncs != 0 || rep.BadFrames != 0 {
			return fmt.Errorf("%s: %d of %d joined, %d failed (%s), %d desyncs, %d bad frames",
				r.name, rep.ClientsJoined, want, rep.JoinFailures, rep.FirstJoinError, rep.Desyncs, rep.BadFrames)
		}
		if r.cfg.Seat == nil {
			continue
		}
		// Seated bots play to the end; matchmaking may pair them with
		// another wave's.
		for _, c := range r.r.Clients() {
			if st := c.Stats(); st.MatchEnd == nil || !st.MatchEnd.Verified {
				return fmt.Errorf("%s: bot %s saw match end %+v, want one verified against its mirror", r.name, st.Name, st.MatchEnd)
			}
		}
	}
	for _, c := range runs[2].r.Clients() {
		if st := c.Stats(); st.CloseCode != 0 || st.MatchEnd != nil {
			return fmt.Errorf("dropped bot %s: close code %d, match end %v: it was not dropped", st.Name, st.CloseCode, st.MatchEnd)
		}
	}
	return nil
}

// forgetResults drops the match results the test node keeps for other tests,
// so that they do not count as the server's heap.
func (tn *testNode) forgetResults() {
	tn.mu.Lock()
	tn.final = map[string]netcode.MatchResult{}
	tn.mu.Unlock()
}

// settleServer waits until the node has no room, no connection and no room
// in its directory, and this process no idle HTTP connection to it.
func settleServer(t *testing.T, tn *testNode, lob *bots.Lobby) {
	t.Helper()
	var (
		st    netcode.Stats
		rooms []directory.Room
		err   error
	)
	settled := func() bool {
		http.DefaultTransport.(*http.Transport).CloseIdleConnections() // the runners' lobby calls
		lob.CloseIdleConnections()                                     // this test's own
		st = tn.game.Stats()
		rooms, _, err = tn.stores.dir.List(t.Context(), directory.Filter{}, "", 100)
		return st.Rooms == 0 && st.Connections == 0 && err == nil && len(rooms) == 0
	}
	deadline := time.Now().Add(soakSettle)
	for !settled() {
		if time.Now().After(deadline) {
			t.Fatalf("not settled within %v: %d rooms and %d connections on the game server, %d rooms in the directory (%v): %+v",
				soakSettle, st.Rooms, st.Connections, len(rooms), err, tn.game.Rooms())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// goroutines counts this process's goroutines and returns their profile,
// grouped by stack.
func goroutines() (int, map[string]int) {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
	_, text, _ := strings.Cut(buf.String(), "\n") // "goroutine profile: total N"
	groups := map[string]int{}
	for _, block := range strings.Split(text, "\n\n") {
		head, stack, _ := strings.Cut(block, "\n") // "<count> @ <pcs>", then the frames
		var n int
		if _, err := fmt.Sscan(head, &n); err == nil {
			groups[stack] += n
		}
	}
	return runtime.NumGoroutine(), groups
}

// extraGoroutines lists the stacks with more goroutines now than at base.
func extraGoroutines(base, now map[string]int) string {
	var out []string
	for stack, n := range now {
		if n > base[stack] {
			out = append(out, fmt.Sprintf("%d more (%d now):\n%s", n-base[stack], n, stack))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n\n")
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC() // the first GC only empties sync.Pools into their victim caches
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// dropProxy forwards loopback TCP connections to a server and can cut every
// one of them at once with a reset, no close handshake, as a lost network
// would.
type dropProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	mu     sync.Mutex // guards conns
	conns  []net.Conn // both ends of every forwarded connection
}

func startDropProxy(target string) (*dropProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &dropProxy{ln: ln, target: target}
	p.wg.Go(p.accept)
	return p, nil
}

func (p *dropProxy) url() string { return "ws://" + p.ln.Addr().String() }

func (p *dropProxy) accept() {
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = down.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, down, up)
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
		}
		p.wg.Go(func() { pipe(up, down) })
		p.wg.Go(func() { pipe(down, up) })
	}
}

// drop resets every connection forwarded so far, on both sides.
func (p *dropProxy) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with RST
		}
		_ = c.Close()
	}
	p.conns = nil
}

func (p *dropProxy) close() {
	_ = p.ln.Close()
	p.drop()
	p.wg.Wait()
}
