package netcode

import (
	"github.com/tickwire/tickwire/game"
)

// playerState is what clients see of a player.
type playerState struct {
	id      game.PlayerID
	name    string
	entity  game.EntityID
	score   int64
	lastSeq uint32
}

// roomState is a copy of a room's state at one tick, as clients see it.
type roomState struct {
	tick     uint64
	phase    game.Phase
	endTick  uint64
	entities []game.Entity
	players  []playerState
	checksum uint32
}

// capture copies the sim's state, reusing s's slices.
func (s *roomState) capture(sim *game.Sim) {
	w := sim.World()
	s.tick = w.Tick()
	s.phase = w.Phase()
	s.endTick = sim.EndTick()
	s.entities = append(s.entities[:0], w.Entities()...)
	s.players = s.players[:0]
	for _, p := range w.Players() {
		s.players = append(s.players, playerState{id: p.ID, name: p.Name, entity: p.Entity, score: p.Score, lastSeq: p.LastSeq})
	}
	s.checksum = w.Checksum()
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
// a delta; a client further behind gets a full snapshot.
const historyLen = 64

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
