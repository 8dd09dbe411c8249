package netcode

import (
	"github.com/tickwire/tickwire/game"
)

// playerState is what clients see of a player. Its declared fields are at
// off and toff in the roomState's player values and texts.
type playerState struct {
	id        game.PlayerID
	name      string
	entity    game.EntityID
	score     int64
	lastSeq   uint32
	off, toff int32
}

// entityState is one entity; its declared fields are at off and toff in the
// roomState's values and texts.
type entityState struct {
	id        game.EntityID
	kind      uint32
	off, toff int32 // 32 bits: a room's state stays far below 2^31 values
}

// roomState is a copy of a room's state at one tick, as clients see it. Every
// record's fields are copied into a few flat slices, so capturing a tick in
// steady state allocates nothing.
type roomState struct {
	tick     uint64
	phase    game.Phase
	endTick  uint64
	checksum uint32

	entities []entityState // ascending ID
	vals     []int64
	texts    []string

	players []playerState // ascending ID
	pvals   []int64
	ptexts  []string

	room      []int64
	roomTexts []string
}

// capture copies the sim's state, reusing s's slices.
func (s *roomState) capture(sim *game.Sim) {
	w := sim.World()
	s.tick = w.Tick()
	s.phase = w.Phase()
	s.endTick = sim.EndTick()
	ents := w.Entities()
	nv, nt := 0, 0
	for i := range ents {
		nv, nt = nv+len(ents[i].Slots()), nt+len(ents[i].Texts())
	}
	s.entities, s.vals, s.texts = fit(s.entities, len(ents)), fit(s.vals, nv), fit(s.texts, nt)
	for i := range ents {
		e := &ents[i]
		s.entities = append(s.entities, entityState{id: e.ID(), kind: e.Kind().ID(), off: int32(len(s.vals)), toff: int32(len(s.texts))})
		s.vals = append(s.vals, e.Slots()...)
		s.texts = append(s.texts, e.Texts()...)
	}
	players := w.Players()
	nv, nt = 0, 0
	for _, p := range players {
		nv, nt = nv+len(p.Slots()), nt+len(p.Texts())
	}
	s.players, s.pvals, s.ptexts = fit(s.players, len(players)), fit(s.pvals, nv), fit(s.ptexts, nt)
	for _, p := range players {
		s.players = append(s.players, playerState{
			id: p.ID, name: p.Name, entity: p.Entity, score: p.Score, lastSeq: p.LastSeq,
			off: int32(len(s.pvals)), toff: int32(len(s.ptexts)),
		})
		s.pvals = append(s.pvals, p.Slots()...)
		s.ptexts = append(s.ptexts, p.Texts()...)
	}
	s.room = append(fit(s.room, len(w.Slots())), w.Slots()...)
	s.roomTexts = append(fit(s.roomTexts, len(w.Texts())), w.Texts()...)
	s.checksum = w.Checksum()
}

// fit returns b emptied, with room for n: b's own array when it is large
// enough, else a new one of n and an eighth more. A room keeps historyLen
// states, so each holds about what it needs (append would double), and a
// count that creeps up does not reallocate every tick.
func fit[T any](b []T, n int) []T {
	if cap(b) >= n {
		return b[:0]
	}
	return make([]T, 0, n+n/8)
}

// entityValues returns an entity's numbers and texts.
func (s *roomState) entityValues(e *entityState) ([]int64, []string) {
	return s.vals[e.off:], s.texts[e.toff:]
}

// playerValues returns a player's numbers and texts.
func (s *roomState) playerValues(p *playerState) ([]int64, []string) {
	return s.pvals[p.off:], s.ptexts[p.toff:]
}

func (s *roomState) player(id game.PlayerID) *playerState {
	for i := range s.players {
		if s.players[i].id == id {
			return &s.players[i]
		}
	}
	return nil
}

// historyLen is how many past ticks a hub keeps to catch a lagging client up with
// a delta; a client further behind gets a full snapshot. 32 ticks (1.6 s at
// 20 Hz) covers a full queue (Config.MaxPending, 8 by default) and a stall of
// a second and more; the history is the largest part of a room's memory (a
// sixteen-player arena state is about 3.7 KB, so 32 of them are 7 KiB a
// client), and a client further behind costs one snapshot, not a desync.
const historyLen = 32

// history is a ring of the most recent states, newest last. It is owned by the
// hub's room goroutine.
type history struct {
	states [historyLen]roomState
	n      int // states recorded so far
}

// next returns the slot to capture the coming tick into.
func (h *history) next() *roomState {
	s := &h.states[h.n%historyLen]
	h.n++
	return s
}

// previous is the state before the newest, or nil.
func (h *history) previous() *roomState {
	if h.n < 2 {
		return nil
	}
	return &h.states[(h.n-2)%historyLen]
}

// at finds the state at the given tick, or nil if it is no longer kept.
func (h *history) at(tick uint64) *roomState {
	for i := 1; i <= min(h.n, historyLen); i++ {
		s := &h.states[(h.n-i)%historyLen]
		if s.tick == tick {
			return s
		}
		if s.tick < tick {
			return nil
		}
	}
	return nil
}
