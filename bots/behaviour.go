package bots

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Input is one player command a bot sends. DX and DY are the movement
// direction, each in {-1, 0, 1} for the arena game; (0, 0) stands still.
type Input struct {
	DX, DY  int32
	Buttons uint32
}

// Behaviour decides a bot's inputs. The runner asks it for the next input at
// the input rate (10 Hz by default); every answer is sent, so even a bot that
// stands still keeps its inputs and their acks flowing.
//
// A Behaviour belongs to one bot and may keep state between calls. Next is
// called with the bot's mirror locked: m is valid only during the call and
// must not be modified. m may not be synced yet (see [Mirror.Synced]).
type Behaviour interface {
	Next(m *Mirror, now time.Time) Input
}

// ErrUnknownBehaviour is returned by [BehaviourByName] for a name it does not
// know.
var ErrUnknownBehaviour = errors.New("unknown behaviour")

var behaviours = map[string]func(seed uint64) Behaviour{
	"random": func(seed uint64) Behaviour { return NewRandom(seed) },
	"chase":  func(uint64) Behaviour { return Chase{} },
	"idle":   func(uint64) Behaviour { return Idle{} },
}

// BehaviourNames lists the names BehaviourByName accepts.
func BehaviourNames() []string { return []string{"random", "chase", "idle"} }

// BehaviourByName returns a new Behaviour for one bot: "random" ([Random]),
// "chase" ([Chase]) or "idle" ([Idle]). seed makes a random behaviour
// reproducible; behaviours that draw no randomness ignore it.
func BehaviourByName(name string, seed uint64) (Behaviour, error) {
	f, ok := behaviours[name]
	if !ok {
		return nil, fmt.Errorf("behaviour %q (want one of %v): %w", name, BehaviourNames(), ErrUnknownBehaviour)
	}
	return f(seed), nil
}

// Idle stands still: every input is (0, 0). It still sends them, at the input
// rate, so the server sees a live client (no idle timeout) and acks keep
// flowing.
type Idle struct{}

// Next returns a standing-still input.
func (Idle) Next(*Mirror, time.Time) Input { return Input{} }

// Random is the reference workload's random walker: it picks one of the eight
// directions or, one time in nine, standing still, and keeps it for a random
// 0.5 to 1.5 s (about once a second on average) before picking again.
type Random struct {
	rng        *rand.Rand
	dir        Input
	nextChange time.Time
}

// NewRandom returns a random walker whose choices are fixed by seed.
func NewRandom(seed uint64) *Random {
	return &Random{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Next returns the current direction, picking a new one when it is due.
func (r *Random) Next(_ *Mirror, now time.Time) Input {
	if now.Before(r.nextChange) {
		return r.dir
	}
	k := r.rng.IntN(9) // 0..7 directions, 8 stands still
	if k == 8 {
		r.dir = Input{}
	} else {
		r.dir = directions[k]
	}
	r.nextChange = now.Add(500*time.Millisecond + time.Duration(r.rng.Int64N(int64(time.Second))))
	return r.dir
}

// directions are the eight unit moves, clockwise from east.
var directions = [8]Input{
	{DX: 1}, {DX: 1, DY: 1}, {DY: 1}, {DX: -1, DY: 1},
	{DX: -1}, {DX: -1, DY: -1}, {DY: -1}, {DX: 1, DY: -1},
}

// chaseDeadband is how close, in quantized units, the bot must be on an axis
// before it stops moving along it: half an arena step (5 units = 80), so it
// does not overshoot back and forth around an orb it is about to touch.
const chaseDeadband = 40

// Chase heads for the nearest orb ([KindOrb]) from its own avatar, moving along
// each axis until within half a step of it. It stands still while it cannot
// see its avatar or any orb. Ties go to the lower entity id.
type Chase struct{}

// Next returns the direction towards the nearest orb.
func (Chase) Next(m *Mirror, _ time.Time) Input {
	self, ok := m.Entity(m.EntityID())
	if !ok {
		return Input{}
	}
	var best Entity
	bestDist := int64(-1)
	for _, e := range m.Entities() {
		if e.Kind != KindOrb {
			continue
		}
		dx, dy := int64(e.X)-int64(self.X), int64(e.Y)-int64(self.Y)
		if d := dx*dx + dy*dy; bestDist < 0 || d < bestDist {
			best, bestDist = e, d
		}
	}
	if bestDist < 0 {
		return Input{}
	}
	return Input{DX: towards(self.X, best.X), DY: towards(self.Y, best.Y)}
}

func towards(from, to int32) int32 {
	switch d := int64(to) - int64(from); {
	case d > chaseDeadband:
		return 1
	case d < -chaseDeadband:
		return -1
	}
	return 0
}
