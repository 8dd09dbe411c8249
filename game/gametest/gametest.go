// Package gametest helps a game developer test and measure a [game.Game]
// outside a server: [Bench] measures what one tick of the game costs the
// room (stepping it, the state checksum every frame carries, and encoding
// its frame with the room's own encoder), and
// [Replay] (in a test, [Deterministic]) checks that the game replays the
// same match from the same seed and inputs, which a room's reproducibility
// and every client's checksum rely on. docs/GAMES.md walks through a whole
// game, from its schema to bots playing it; this package's Example is that
// game.
//
// Both drive a [game.Sim] with scripted players: Config says how many, and
// what each sends at each tick.
package gametest

import (
	"compress/flate"
	"fmt"
	"testing"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/netcode"
)

// Config describes the match to drive. Only Game is required.
type Config struct {
	// Game makes a fresh game; it is called for every match.
	Game func() game.Game
	// Rules are the match's rules. Default: Players seats, all of them
	// needed to start, no limits.
	Rules game.Rules
	// Players is the number of players seated before the first tick.
	// Default 2.
	Players int
	// Seed seeds the room's random source.
	Seed uint64
	// Input, if set, gives player p's input for the next tick from the
	// world as it stands (its Seq is numbered by the harness), or false for
	// none. It must not change the world.
	Input func(w *game.World, p *game.Player) (game.Input, bool)
	// Messages, if set, gives player p's game messages for the next tick,
	// under the same terms.
	Messages func(w *game.World, p *game.Player) []game.Message
	// Warmup is the number of ticks run before measuring. Default 100.
	Warmup int
}

func (c Config) withDefaults() Config {
	if c.Players <= 0 {
		c.Players = 2
	}
	if c.Rules.MaxPlayers == 0 {
		c.Rules.MaxPlayers = c.Players
	}
	if c.Rules.MinPlayers == 0 {
		c.Rules.MinPlayers = c.Players
	}
	if c.Warmup <= 0 {
		c.Warmup = 100
	}
	return c
}

// match is a Sim with its scripted players.
type match struct {
	cfg    Config
	sim    *game.Sim
	seqs   map[game.PlayerID]uint32
	tick   uint64
	inputs []game.PlayerInput
	msgs   []game.PlayerMessage
}

func newMatch(cfg Config) (*match, error) {
	sim, err := game.NewSim(cfg.Game(), cfg.Rules, cfg.Seed)
	if err != nil {
		return nil, err
	}
	m := &match{cfg: cfg, sim: sim, seqs: map[game.PlayerID]uint32{}}
	for i := range cfg.Players {
		if _, err := sim.AddPlayer(fmt.Sprintf("p%d", i+1)); err != nil {
			return nil, fmt.Errorf("seat player %d: %w", i+1, err)
		}
	}
	return m, nil
}

// advance runs the next tick with the scripted inputs and messages and
// reports whether the match has ended.
func (m *match) advance() bool {
	m.tick++
	m.inputs, m.msgs = m.inputs[:0], m.msgs[:0]
	w := m.sim.World()
	for _, p := range w.Players() {
		if m.cfg.Input != nil {
			if in, ok := m.cfg.Input(w, p); ok {
				m.seqs[p.ID]++
				in.Seq = m.seqs[p.ID]
				m.inputs = append(m.inputs, game.PlayerInput{Player: p.ID, Input: in})
			}
		}
		if m.cfg.Messages != nil {
			for _, msg := range m.cfg.Messages(w, p) {
				m.msgs = append(m.msgs, game.PlayerMessage{Player: p.ID, Message: msg})
			}
		}
	}
	return m.sim.AdvanceWith(m.tick, m.inputs, m.msgs)
}

// Bench measures one tick of the game in three parts, as sub-benchmarks:
// "step" (the inputs and messages applied and the game stepped:
// Sim.AdvanceWith), "checksum" (World.Checksum over the whole state,
// which the room computes once per tick) and "encode" (the tick's delta
// frame encoded and compressed as the room does it, once per tick for all
// its clients, over encodeTicks recorded ticks in turn; it reports the
// frame's bytes raw and as a permessage-deflate client gets them). All report allocations; "step"
// also reports the state's size, entities and values (every declared
// number and text of every record), averaged over the ticks measured, and
// what a delta would carry: the values that changed per tick (of entities
// and players that were there the tick before, and the room's) and the
// entities spawned or removed per tick, over churnTicks ticks played off
// the clock. Those drive a frame's encoding cost and size. A match that
// ends is set up again, off the clock, so a short game is measured over
// many matches.
func Bench(b *testing.B, cfg Config) {
	cfg = cfg.withDefaults()
	start := func() *match {
		m, err := newMatch(cfg)
		if err != nil {
			b.Fatal(err)
		}
		for range cfg.Warmup {
			if m.advance() {
				break
			}
		}
		return m
	}
	changed, spawned := churn(b, cfg)
	b.Run("step", func(b *testing.B) {
		m := start()
		var ents, vals, ticks float64
		b.ReportAllocs()
		for b.Loop() {
			if m.advance() {
				b.StopTimer()
				n, v := size(m.sim.World())
				ents, vals, ticks = ents+float64(n), vals+float64(v), ticks+1
				m = start()
				b.StartTimer()
				continue
			}
			if int(m.tick)%64 == 0 { // sample the size now and then: counting costs
				b.StopTimer()
				n, v := size(m.sim.World())
				ents, vals, ticks = ents+float64(n), vals+float64(v), ticks+1
				b.StartTimer()
			}
		}
		if ticks > 0 {
			b.ReportMetric(ents/ticks, "entities")
			b.ReportMetric(vals/ticks, "values")
		}
		b.ReportMetric(changed, "changed/tick")
		b.ReportMetric(spawned, "spawned/tick")
	})
	b.Run("checksum", func(b *testing.B) {
		w := start().sim.World()
		b.ReportAllocs()
		var sum uint32
		for b.Loop() {
			sum ^= w.Checksum()
		}
		_ = sum
	})
	b.Run("encode", func(b *testing.B) {
		rec, frames := recordFrames(b, cfg)
		rec.Deflate(rec.Delta(frames[0]), flate.BestSpeed) // builds the shared compressor, as a running room has
		b.ReportAllocs()
		var raw, zipped, n float64
		for i := 0; b.Loop(); i++ {
			f := rec.Delta(frames[i%len(frames)])
			z := rec.Deflate(f, flate.BestSpeed)
			raw, zipped, n = raw+float64(len(f)), zipped+float64(len(z)), n+1
		}
		b.ReportMetric(raw/n, "bytes/frame")
		b.ReportMetric(zipped/n, "deflated/frame")
	})
}

// encodeTicks is how many consecutive ticks "encode" records and encodes in
// turn.
const encodeTicks = 128

// recordFrames plays ticks after the warmup, recording each state as a room
// does, until it has encodeTicks frames: the indexes of the recorded states
// whose previous state is the tick before in the same match (a match that
// ends is set up again, and no frame spans two matches).
func recordFrames(b *testing.B, cfg Config) (*netcode.FrameRecorder, []int) {
	m, err := newMatch(cfg)
	if err != nil {
		b.Fatal(err)
	}
	rec, err := netcode.NewFrameRecorder(m.sim.World().Schema())
	if err != nil {
		b.Fatal(err)
	}
	for range cfg.Warmup {
		if m.advance() {
			break
		}
	}
	var frames []int
	fresh := true // the next state recorded starts a match
	for len(frames) < encodeTicks {
		if m.advance() {
			if m, err = newMatch(cfg); err != nil {
				b.Fatal(err)
			}
			fresh = true
			continue
		}
		rec.Record(m.sim)
		if !fresh {
			frames = append(frames, rec.Ticks()-1)
		}
		fresh = false
	}
	return rec, frames
}

// churnTicks is how many ticks churn watches.
const churnTicks = 256

// churn plays churnTicks ticks after the warmup and returns the values
// changed and the entities spawned or removed, per tick.
func churn(b *testing.B, cfg Config) (changed, spawned float64) {
	m, err := newMatch(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for range cfg.Warmup {
		if m.advance() {
			break
		}
	}
	prev := capture(m.sim.World())
	var nChanged, nSpawned, ticks int
	for range churnTicks {
		if m.advance() {
			if m, err = newMatch(cfg); err != nil {
				b.Fatal(err)
			}
			prev = capture(m.sim.World())
			continue
		}
		cur := capture(m.sim.World())
		c, s := diff(prev, cur)
		nChanged, nSpawned, ticks = nChanged+c, nSpawned+s, ticks+1
		prev = cur
	}
	if ticks == 0 {
		return 0, 0
	}
	return float64(nChanged) / float64(ticks), float64(nSpawned) / float64(ticks)
}

// state is a copy of a world's records, by entity and player id; the room's
// is under key 0 of players.
type state struct {
	entities map[game.EntityID]record
	players  map[game.PlayerID]record
}

type record struct {
	v []int64
	s []string
}

func copyOf(v *game.Values) record {
	return record{append([]int64(nil), v.Slots()...), append([]string(nil), v.Texts()...)}
}

func capture(w *game.World) state {
	st := state{entities: map[game.EntityID]record{}, players: map[game.PlayerID]record{0: copyOf(&w.Values)}}
	for _, e := range w.Entities() {
		st.entities[e.ID()] = copyOf(&e.Values)
	}
	for _, p := range w.Players() {
		r := copyOf(&p.Values)
		r.v = append(r.v, p.Score)
		st.players[p.ID] = r
	}
	return st
}

// diff counts the values of b that differ from a, and the entities in one
// but not the other.
func diff(a, b state) (changed, spawned int) {
	count := func(x, y record) int {
		n := 0
		for i := range y.v {
			if i < len(x.v) && x.v[i] != y.v[i] {
				n++
			}
		}
		for i := range y.s {
			if i < len(x.s) && x.s[i] != y.s[i] {
				n++
			}
		}
		return n
	}
	for id, r := range b.entities {
		if old, ok := a.entities[id]; ok {
			changed += count(old, r)
		} else {
			spawned++
		}
	}
	for id := range a.entities {
		if _, ok := b.entities[id]; !ok {
			spawned++
		}
	}
	for id, r := range b.players {
		if old, ok := a.players[id]; ok {
			changed += count(old, r)
		}
	}
	return changed, spawned
}

// size counts a world's entities and declared values.
func size(w *game.World) (entities, values int) {
	count := func(v *game.Values) int { return len(v.Slots()) + len(v.Texts()) }
	values = count(&w.Values)
	for _, e := range w.Entities() {
		values += count(&e.Values)
	}
	for _, p := range w.Players() {
		values += count(&p.Values)
	}
	return len(w.Entities()), values
}

// Deterministic plays the scripted match twice for up to ticks ticks (see
// [Replay]) and fails t unless both runs went the same way. It returns the
// first run's result, or nil if the match did not end within ticks.
func Deterministic(t testing.TB, cfg Config, ticks int) *game.Result {
	t.Helper()
	res, err := Replay(cfg, ticks)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Replay plays the scripted match twice for up to ticks ticks and reports an
// error unless both runs reach the same state checksum at every tick and end
// alike. A game that draws randomness from anything but World.Rand, or
// iterates a map to decide, usually fails it. It returns the first run's
// result, or nil if the match did not end within ticks.
func Replay(cfg Config, ticks int) (*game.Result, error) {
	cfg = cfg.withDefaults()
	a, err := newMatch(cfg)
	if err != nil {
		return nil, err
	}
	b, err := newMatch(cfg)
	if err != nil {
		return nil, err
	}
	for i := 1; i <= ticks; i++ {
		endA, endB := a.advance(), b.advance()
		if ca, cb := a.sim.World().Checksum(), b.sim.World().Checksum(); ca != cb || endA != endB {
			return nil, fmt.Errorf("tick %d: the same match went two ways: checksums %08x and %08x, ended %v and %v", i, ca, cb, endA, endB)
		}
		if endA {
			ra, rb := a.sim.Result(), b.sim.Result()
			if ra.Reason != rb.Reason || ra.Detail != rb.Detail || fmt.Sprint(ra.Standings) != fmt.Sprint(rb.Standings) {
				return nil, fmt.Errorf("the same match ended two ways: %+v and %+v", ra, rb)
			}
			return ra, nil
		}
	}
	return nil, nil
}
