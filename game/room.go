package game

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Observer receives a room's ticks. Every method runs on the room's goroutine,
// with the world read-only, and must not block: a room's tick never waits on I/O.
type Observer interface {
	// Tick runs after every tick, when the world holds the state at that tick.
	Tick(s *Sim)
	// Ended runs once, after the Tick in which the match ended; the room's
	// goroutine exits when it returns.
	Ended(s *Sim, r Result)
}

// RoomConfig configures a room. Zero fields take the documented defaults.
type RoomConfig struct {
	// ID names the room.
	ID string
	// TickRate is ticks per second. Default 20.
	TickRate int
	// Game is the rule set. Required.
	Game Game
	// Rules are the match limits.
	Rules Rules
	// Seed seeds the world's random source.
	Seed uint64
	// MaxCatchUp bounds how many late ticks run back to back after a stall;
	// older ones are skipped (their tick numbers are not used). Default 3.
	MaxCatchUp int
	// MaxQueuedInputs bounds the inputs each player may have queued between
	// two ticks; more of that player's are dropped and counted. Each player
	// has its own share, so one that sends too many cannot crowd out
	// another's. Default 8.
	MaxQueuedInputs int
	// Observer receives every tick. Required.
	Observer Observer
	// OnTick, if set, is told how long each tick took: taking the inbox,
	// running the queued calls, stepping the game and Observer.Tick. The
	// room calls it on its own goroutine at the end of every tick, the last
	// one included (before Observer.Ended), so it must not block; it is how
	// the room's owner keeps tick-duration metrics the room does not hold.
	// Hot path: once per tick; the room allocates nothing to call it.
	OnTick func(tick uint64, took time.Duration)
}

// Room runs a Sim on a fixed tick from its own goroutine. Its methods are safe for
// concurrent use; whatever they ask of the simulation happens at the next tick.
type Room struct {
	cfg      RoomConfig
	interval time.Duration
	sim      *Sim // owned by the room goroutine once started

	// inboxMu guards the inbox: work handed to the room goroutine.
	inboxMu  sync.Mutex
	inputs   []PlayerInput
	messages []PlayerMessage
	lines    []PlayerMessage // chat lines, the text in Data
	// spareMessages is the last tick's message slice, reused; owned by the
	// room goroutine.
	spareMessages []PlayerMessage
	queued        []share // the players that queued since the last tick, with their counts
	calls         []func(*Sim)
	stopReason    EndReason
	droppedInput  uint64
	closed        bool // set when the goroutine exits; no more calls run

	start time.Time
	stop  chan struct{} // closed by Stop
	once  sync.Once
	done  chan struct{} // closed when the goroutine exits

	// statsMu guards stats.
	statsMu sync.Mutex
	stats   tickStats
}

// NewRoom builds a room; call Start to run it. It fails without a Game or
// when the game's schema does not validate (see NewSim).
func NewRoom(cfg RoomConfig) (*Room, error) {
	if cfg.TickRate <= 0 {
		cfg.TickRate = 20
	}
	if cfg.Game == nil {
		return nil, errors.New("room has no game")
	}
	if cfg.MaxCatchUp <= 0 {
		cfg.MaxCatchUp = 3
	}
	sim, err := NewSim(cfg.Game, cfg.Rules, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("room %s: %w", cfg.ID, err)
	}
	if cfg.MaxQueuedInputs <= 0 {
		cfg.MaxQueuedInputs = 8
	}
	return &Room{
		cfg:      cfg,
		interval: time.Second / time.Duration(cfg.TickRate),
		sim:      sim,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}, nil
}

// ID is the room's name.
func (r *Room) ID() string { return r.cfg.ID }

// TickRate is ticks per second.
func (r *Room) TickRate() int { return r.cfg.TickRate }

// Rules are the match rules in force, defaults applied.
func (r *Room) Rules() Rules { return r.sim.rules }

// Start starts the tick loop. Tick n is scheduled at Start0().Add(n * interval).
func (r *Room) Start() {
	r.start = time.Now()
	go r.run()
}

// Start0 is when tick 0 was scheduled; valid after Start.
func (r *Room) Start0() time.Time { return r.start }

// Done is closed when the room's goroutine has exited.
func (r *Room) Done() <-chan struct{} { return r.done }

// Stop ends the match with the given reason at the next tick and stops the room.
func (r *Room) Stop(reason EndReason) {
	r.inboxMu.Lock()
	if r.stopReason == 0 {
		r.stopReason = reason
	}
	r.inboxMu.Unlock()
	r.once.Do(func() { close(r.stop) })
}

// Do runs f on the room goroutine at the start of the next tick, before inputs
// are applied. It reports false if the room has stopped and f will not run.
func (r *Room) Do(f func(*Sim)) bool {
	r.inboxMu.Lock()
	defer r.inboxMu.Unlock()
	if r.closed {
		return false
	}
	r.calls = append(r.calls, f)
	return true
}

// Input queues an input for the next tick. It reports false when the player's
// share of the queue is full and the input was dropped. Hot path: every
// client input.
func (r *Room) Input(p PlayerID, in Input) bool {
	r.inboxMu.Lock()
	defer r.inboxMu.Unlock()
	if !r.takeShare(p) {
		return false
	}
	r.inputs = append(r.inputs, PlayerInput{Player: p, Input: in})
	return true
}

// takeShare takes one item of the player's share of the queue, or counts a
// drop when the share is used up; inboxMu must be held.
// Hot path: once per input. A room's players are few, so a list searched
// from the front beats a map, and is emptied per tick for nothing.
func (r *Room) takeShare(p PlayerID) bool {
	i := 0
	for i < len(r.queued) && r.queued[i].player != p {
		i++
	}
	if i == len(r.queued) {
		r.queued = append(r.queued, share{player: p})
	}
	if r.queued[i].n >= r.cfg.MaxQueuedInputs {
		r.droppedInput++
		return false
	}
	r.queued[i].n++
	return true
}

// share is how much of its queue share a player used since the last tick.
type share struct {
	player PlayerID
	n      int
}

// Chat queues a chat line (cleaned by the caller) for the next tick, from
// the player's share of the queue; it reports false when that is full.
func (r *Room) Chat(p PlayerID, text string) bool {
	r.inboxMu.Lock()
	defer r.inboxMu.Unlock()
	if !r.takeShare(p) {
		return false
	}
	r.lines = append(r.lines, PlayerMessage{Player: p, Message: Message{Data: []byte(text)}})
	return true
}

// Message queues a game message for the next tick. It shares the player's
// share of the queue with its inputs, and reports false when that is full
// and the message was dropped.
func (r *Room) Message(p PlayerID, m Message) bool {
	r.inboxMu.Lock()
	defer r.inboxMu.Unlock()
	if !r.takeShare(p) {
		return false
	}
	r.messages = append(r.messages, PlayerMessage{Player: p, Message: m})
	return true
}

func (r *Room) run() {
	defer r.exit()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var inputs []PlayerInput
	var calls []func(*Sim)
	var last uint64
	for {
		next := last + 1
		if wait := time.Until(r.start.Add(time.Duration(next) * r.interval)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-r.stop:
			}
		}
		due := uint64(time.Since(r.start) / r.interval)
		if due > next+uint64(r.cfg.MaxCatchUp) {
			r.recordSkip(due - uint64(r.cfg.MaxCatchUp) - next)
			next = due - uint64(r.cfg.MaxCatchUp)
		}
		inputs, calls = r.tick(next, inputs, calls)
		last = next
		if r.sim.world.phase == PhaseEnded {
			r.cfg.Observer.Ended(r.sim, *r.sim.result)
			return
		}
	}
}

// tick runs one tick. The inbox slices are swapped with the spare ones the
// previous tick used, so steady state allocates nothing.
func (r *Room) tick(n uint64, inputs []PlayerInput, calls []func(*Sim)) ([]PlayerInput, []func(*Sim)) {
	began := time.Now()
	r.inboxMu.Lock()
	inputs, r.inputs = r.inputs, inputs[:0]
	msgs := r.messages
	r.messages = r.spareMessages[:0]
	lines := r.lines
	r.lines = nil
	r.queued = r.queued[:0]
	calls, r.calls = r.calls, calls[:0]
	reason := r.stopReason
	r.inboxMu.Unlock()

	for _, f := range calls {
		f(r.sim)
	}
	clear(calls)
	r.sim.chatLines(lines)
	r.sim.AdvanceWith(n, inputs, msgs)
	clear(msgs) // the game owns the data now
	r.spareMessages = msgs[:0]
	if reason != 0 {
		r.sim.End(reason)
	}
	r.cfg.Observer.Tick(r.sim)
	w := r.sim.world
	clear(w.events)
	clear(w.chat)
	w.events, w.chat, w.eventBytes = w.events[:0], w.chat[:0], 0

	took := time.Since(began)
	r.statsMu.Lock()
	r.stats.record(took, took > r.interval)
	r.statsMu.Unlock()
	if r.cfg.OnTick != nil {
		r.cfg.OnTick(n, took)
	}
	return inputs, calls
}

// exit runs the calls still queued, against the ended match, so a caller
// waiting on one hears back, and refuses any later ones.
func (r *Room) exit() {
	r.inboxMu.Lock()
	r.closed = true
	calls := r.calls
	r.calls = nil
	r.inboxMu.Unlock()
	for _, f := range calls {
		f(r.sim)
	}
	close(r.done)
}

func (r *Room) recordSkip(n uint64) {
	r.statsMu.Lock()
	r.stats.skipped += n
	r.statsMu.Unlock()
}

// Stats is a snapshot of a room's tick timing.
type Stats struct {
	Ticks uint64
	// Overruns counts ticks that took longer than the tick interval.
	Overruns uint64
	// Skipped counts tick slots dropped by the catch-up bound after stalls.
	Skipped uint64
	// DroppedInputs counts inputs refused because the queue was full.
	DroppedInputs uint64
	// P50, P99 and Max are over the most recent ticks (up to 1024).
	P50, P99, Max time.Duration
}

// Stats reports the room's tick timing so far.
func (r *Room) Stats() Stats {
	r.inboxMu.Lock()
	dropped := r.droppedInput
	r.inboxMu.Unlock()
	r.statsMu.Lock()
	defer r.statsMu.Unlock()
	st := r.stats.snapshot()
	st.DroppedInputs = dropped
	return st
}

// RecentTicks appends the durations of the most recent ticks (up to 1024) to
// dst, for merging the timing of many rooms.
func (r *Room) RecentTicks(dst []time.Duration) []time.Duration {
	r.statsMu.Lock()
	defer r.statsMu.Unlock()
	n := int(min(r.stats.ticks, tickWindow))
	return append(dst, r.stats.recent[:n]...)
}

const tickWindow = 1024

// tickStats keeps counters and the durations of the most recent ticks.
type tickStats struct {
	ticks, overruns, skipped uint64
	recent                   [tickWindow]time.Duration
}

func (t *tickStats) record(d time.Duration, overrun bool) {
	t.recent[t.ticks%tickWindow] = d
	t.ticks++
	if overrun {
		t.overruns++
	}
}

func (t *tickStats) snapshot() Stats {
	st := Stats{Ticks: t.ticks, Overruns: t.overruns, Skipped: t.skipped}
	n := int(min(t.ticks, tickWindow))
	if n == 0 {
		return st
	}
	d := slices.Clone(t.recent[:n])
	slices.Sort(d)
	st.P50 = d[(n-1)*50/100]
	st.P99 = d[(n-1)*99/100]
	st.Max = d[n-1]
	return st
}
