package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/lobby"
	"github.com/tickwire/tickwire/lobby/directory"
	"github.com/tickwire/tickwire/netcode"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// The demo room (--demo-bots N): the node keeps one room in which N of its
// own bots play the default game, so that whoever opens the page at / sees a
// match going and can join it.
//
// The bots are clients of package bots, as any other: they join over a real
// socket to the node's own listener (on loopback when it listens on every
// interface), with join tickets the node's lobby signs for a room it lists
// itself, a house room (lobby.OpenHouseRoom). So they need no open rooms
// and no API key, and pass whatever --auth-* asks of people, whose join
// goes through the lobby's ordinary POST /v1/rooms/{id}/join.
//
// The room is the seats, duration and score limit of the first --modes
// mode that plays the default game (arena:16:2m by default), so the demo is
// a match as that mode plays it. It starts once the bots are in; the seats
// the bots leave free are for people, and there is at least one. Its mode
// is "demo", a house mode with no leaderboards: what is played in it is
// credited nowhere (see lobby/house.go).
//
// Each match is a room of its own, demo-1, demo-2, ...: a room's id names one
// match on the wire (its ticks, its resume tokens), and the page, told the
// current id by /config.json, follows the demo to the next match. When a
// match ends the bots join the next room at once; a bot that drops comes
// back with a fresh ticket, which gives it back its held seat, after a
// backoff. On SIGTERM the demo stops before the drain: the bots stop, and
// the demo match is ended at once (SHUTDOWN) rather than waited for, since
// it is no one's match.

// maxDemoBots bounds --demo-bots: a demo shows the game; tickwire bots is
// the tool to load a server.
const maxDemoBots = 64

// demoMode is the demo room's house mode: its name in the room list.
const demoMode = "demo"

// demoConfig is what the demo room is: how many bots, the room's rules, and
// the mode of --modes they are taken from.
type demoConfig struct {
	bots  int
	rules game.Rules
	like  lobby.Mode
}

// newDemoConfig returns the demo room of n bots (0: none): the rules of the
// first mode of modes (a --modes value) that plays the default game, with
// the house mode's name, and a match that starts once the n bots are in
// (or, as in any lobby room, 10 s after the first came).
func newDemoConfig(n int, modes string, tickRate int) (demoConfig, error) {
	if n < 0 || n > maxDemoBots {
		return demoConfig{}, fmt.Errorf("--demo-bots %d: want 0 (no demo room) to %d", n, maxDemoBots)
	}
	if n == 0 {
		return demoConfig{}, nil
	}
	ms, err := lobby.ParseModes(modes)
	if err != nil {
		return demoConfig{}, fmt.Errorf("--modes: %w", err)
	}
	var mode *lobby.Mode
	for i, m := range ms {
		if m.Name == demoMode {
			return demoConfig{}, fmt.Errorf("--demo-bots: --modes has a mode named %q, the demo room's own; rename it", demoMode)
		}
		if mode == nil && (m.Game == "" || m.Game == defaultGame) {
			mode = &ms[i]
		}
	}
	switch {
	case mode == nil:
		return demoConfig{}, fmt.Errorf("--demo-bots: the demo room plays %s as the first such mode of --modes does, and --modes %q has none", defaultGame, modes)
	case n >= mode.Size:
		return demoConfig{}, fmt.Errorf("--demo-bots %d: the demo room has the %d seats of mode %s (--modes) and keeps at least one for people; want at most %d", n, mode.Size, mode.Name, mode.Size-1)
	}
	r := mode.Rules(tickRate)
	r.Mode, r.MinPlayers = demoMode, n
	return demoConfig{bots: n, rules: r, like: *mode}, nil
}

// demoURL is the ws base URL the demo bots reach the node at: the listener's
// own address, on loopback when it listens on every interface.
func demoURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "ws://" + listen
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip.To4() == nil {
			host = "::1"
		}
	}
	return "ws://" + net.JoinHostPort(host, port)
}

// demo keeps the demo room. Its goroutines are run's; stop ends them.
type demo struct {
	demoConfig
	url   string // where the bots connect
	lobby *lobby.Lobby
	game  *netcode.Server
	log   zerolog.Logger
	warn  zerolog.Logger // log, a few lines per period: a bot retrying logs once a try

	room     atomic.Pointer[string] // the current match's room id; nil between matches
	cancel   context.CancelFunc
	done     chan struct{} // closed when run returns
	stopOnce sync.Once
}

// startDemo starts keeping the demo room; the node's listener at listen
// must be serving.
func (n *node) startDemo(c demoConfig, listen string, log zerolog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	log = log.With().Str("component", "demo").Logger()
	d := &demo{
		demoConfig: c, url: demoURL(listen), lobby: n.lobby, game: n.game, log: log,
		warn:   log.Sample(&zerolog.BurstSampler{Burst: 3, Period: 10 * time.Second}),
		cancel: cancel, done: make(chan struct{}),
	}
	n.demo.Store(d)
	go func() { defer close(d.done); d.run(ctx) }()
}

// demoRoom is the current demo match's room id, "" when there is none.
func (n *node) demoRoom() string {
	if d := n.demo.Load(); d != nil {
		return d.current()
	}
	return ""
}

// stopDemo stops the demo room, if there is one.
func (n *node) stopDemo() {
	if d := n.demo.Load(); d != nil {
		d.stop()
	}
}

func (d *demo) current() string {
	if id := d.room.Load(); id != nil {
		return *id
	}
	return ""
}

// demoStopWait bounds how long stop waits for the bots: they leave at once,
// so this is only a guard against a stuck socket holding the drain up.
const demoStopWait = 3 * time.Second

// stop ends the bots and the current demo match (reason SHUTDOWN, for the
// people in it too), and waits a little for the bots to close. It never
// blocks a drain for long: the drain then does not wait for the demo match,
// which has already ended.
func (d *demo) stop() {
	d.stopOnce.Do(func() {
		d.cancel()
		d.end(d.current())
		select {
		case <-d.done:
		case <-time.After(demoStopWait):
			d.log.Warn().Dur("waited", demoStopWait).Msg("demo bots still closing; going on")
		}
	})
}

// demoEndWait bounds how long ending a demo match waits for its room to
// have told its clients.
const demoEndWait = 2 * time.Second

// end ends the demo match in room id if it runs, and waits until its clients
// have their MatchEnd queued: a shutdown right after then cannot close them
// first.
func (d *demo) end(id string) {
	if id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), demoEndWait)
	defer cancel()
	if _, err := d.game.EndRoom(ctx, id); err != nil {
		d.log.Warn().Err(err).Str("room", id).Msg("demo match not over in time; going on")
	}
}

// run plays demo matches one after the other until ctx ends.
func (d *demo) run(ctx context.Context) {
	wait := newBackoff()
	for seq, started := 1, false; ctx.Err() == nil; seq++ {
		id := fmt.Sprintf("%s-%d", demoMode, seq)
		_, err := d.lobby.OpenHouseRoom(ctx, id, d.rules)
		if errors.Is(err, directory.ErrExists) {
			continue // another node's demo room has the id
		}
		if err != nil {
			d.warn.Warn().Err(err).Str("room", id).Msg("demo room not opened; retrying")
			wait.sleep(ctx)
			continue
		}
		wait.reset()
		d.room.Store(&id)
		if !started {
			started = true
			d.log.Info().Str("room", id).Int("bots", d.bots).Int("seats", d.rules.MaxPlayers).
				Str("mode", d.rules.Mode).Str("game", defaultGame).Str("rules_of", d.like.Name).
				Dur("match_duration", d.like.Duration).Int64("score_limit", d.like.ScoreLimit).Str("url", d.url).
				Msg("demo room started")
		} else {
			d.log.Debug().Str("room", id).Msg("next demo match")
		}
		d.match(ctx, id)
		// The match is over, so a room of this id still running is a stray:
		// started by a join that came just after the end (a ticket's join
		// creates its room), or after stop looked. It ends now rather than
		// sit unlisted until it is empty, or hold a drain up.
		d.end(id)
		d.room.Store(nil)
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := d.lobby.CloseHouseRoom(cctx, id); err != nil {
			d.log.Debug().Err(err).Str("room", id).Msg("demo room not removed from the directory; it runs out")
		}
		cancel()
	}
}

// match runs the bots in room id until its match is over (a bot saw it end,
// or the room is gone) or ctx ends.
func (d *demo) match(ctx context.Context, id string) {
	mctx, over := context.WithCancel(ctx)
	defer over()
	var wg sync.WaitGroup
	for i := range d.bots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d.bot(mctx, id, i) {
				over()
			}
		}()
	}
	wg.Wait()
}

// bot plays bot i in room id, coming back after a drop, until the match is
// over (it reports true) or ctx ends.
func (d *demo) bot(ctx context.Context, id string, i int) bool {
	account, name := fmt.Sprintf("demo-bot-%d", i+1), fmt.Sprintf("demo bot %d", i+1)
	// Half chase the orbs, half walk as the reference workload does: a
	// room of the one looks like a swarm, of the other like noise.
	kind := "chase"
	if i%2 == 1 {
		kind = "random"
	}
	behaviour, err := bots.BehaviourFor(defaultGame, kind, rand.Uint64())
	if err != nil {
		d.log.Error().Err(err).Msg("demo bot behaviour")
		return false
	}
	wait := newBackoff()
	for ctx.Err() == nil {
		c, err := d.join(ctx, id, account, name, behaviour)
		var se *bots.ServerError
		switch {
		case errors.Is(err, directory.ErrNotFound), errors.As(err, &se) && se.Code == pb.ErrorCode_ERROR_CODE_MATCH_ENDED:
			return true
		case err != nil:
			if ctx.Err() == nil {
				d.warn.Warn().Err(err).Str("room", id).Str("bot", name).Msg("demo bot could not join; retrying")
				wait.sleep(ctx)
			}
			continue
		}
		wait.reset()
		if d.play(ctx, c) {
			return true
		}
		if ctx.Err() == nil {
			d.log.Debug().Str("room", id).Str("bot", name).Msg("demo bot dropped; rejoining")
			wait.sleep(ctx)
		}
	}
	return false
}

// join seats a bot in room id and connects it.
func (d *demo) join(ctx context.Context, id, account, name string, b bots.Behaviour) (*bots.Client, error) {
	seat, err := d.lobby.HouseSeat(ctx, id, account, name)
	if err != nil {
		return nil, err
	}
	return bots.Dial(ctx, bots.Config{
		URL: d.url, RoomID: seat.RoomID, Name: name, Ticket: seat.Ticket, Account: account,
		Behaviour: b, JoinTimeout: 5 * time.Second,
	})
}

// demoInputInterval is the reference workload's input rate, 10 Hz.
const demoInputInterval = 100 * time.Millisecond

// play sends c's inputs until its connection closes, and reports whether
// it saw its match end. When ctx ends first the bot leaves.
func (d *demo) play(ctx context.Context, c *bots.Client) bool {
	t := time.NewTicker(demoInputInterval)
	defer t.Stop()
	for {
		select {
		case <-c.Done():
			return c.Stats().MatchEnd != nil
		case <-ctx.Done():
			d.leave(c)
			return c.Stats().MatchEnd != nil
		case now := <-t.C:
			_ = c.Act(now) // a refused input is the server's to count
		}
	}
}

// demoLeaveWait is how long a leaving bot waits for the server's close.
const demoLeaveWait = time.Second

// leave sends Leave, so the seat is freed rather than held for a rejoin,
// and closes the socket once the server has, or after demoLeaveWait.
func (d *demo) leave(c *bots.Client) {
	if c.Leave() == nil {
		select {
		case <-c.Done():
			return
		case <-time.After(demoLeaveWait):
		}
	}
	_ = c.Close()
}

// backoff is a retry's wait: 200 ms doubling to 5 s, each with up to a
// quarter more at random, so that N bots dropped together do not all come
// back in the same instant.
type backoff struct{ next time.Duration }

const (
	backoffMin = 200 * time.Millisecond
	backoffMax = 5 * time.Second
)

func newBackoff() *backoff { return &backoff{next: backoffMin} }

func (b *backoff) reset() { b.next = backoffMin }

// sleep waits the next wait, or until ctx ends.
func (b *backoff) sleep(ctx context.Context) {
	d := b.next + rand.N(b.next/4+1)
	b.next = min(2*b.next, backoffMax)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
