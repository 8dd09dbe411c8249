package bots

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// MaxInputValues is the most values an input carries.
const MaxInputValues = 16

// Input is one player command a bot sends: the values of the schema's input
// fields, by mask bit ([Field].Bit), exactly as the game stores them. The
// zero Input is the neutral one.
type Input struct {
	Values [MaxInputValues]int64
}

// Set sets the first component of field f to v; it does nothing for a field
// out of the input's range (a zero Field from a failed lookup is bit 0, so
// look fields up with [Shape.Field] and check).
func (in *Input) Set(f Field, v int64) {
	if f.Bit >= 0 && f.Bit < MaxInputValues {
		in.Values[f.Bit] = v
	}
}

// Move is the arena's input: the direction (dx, dy), each in {-1, 0, 1},
// set in the fields named "dx" and "dy" of the mirror's input schema. A
// schema without them gets the neutral input.
func Move(m *Mirror, dx, dy int64) Input {
	var in Input
	if m == nil || m.Schema() == nil {
		return in
	}
	fx, okx := m.Schema().Input.Field("dx")
	fy, oky := m.Schema().Input.Field("dy")
	if okx && oky {
		in.Set(fx, dx)
		in.Set(fy, dy)
	}
	return in
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

// Random is the arena's random walker, the reference workload: it picks one of the eight
// directions or, one time in nine, standing still, and keeps it for a random
// 0.5 to 1.5 s (about once a second on average) before picking again.
type Random struct {
	rng        *rand.Rand
	dx, dy     int64
	nextChange time.Time
}

// NewRandom returns a random walker whose choices are fixed by seed.
func NewRandom(seed uint64) *Random {
	return &Random{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Next returns the current direction, picking a new one when it is due.
func (r *Random) Next(m *Mirror, now time.Time) Input {
	if !now.Before(r.nextChange) {
		k := r.rng.IntN(9) // 0..7 directions, 8 stands still
		if k == 8 {
			r.dx, r.dy = 0, 0
		} else {
			r.dx, r.dy = directions[k][0], directions[k][1]
		}
		r.nextChange = now.Add(500*time.Millisecond + time.Duration(r.rng.Int64N(int64(time.Second))))
	}
	return Move(m, r.dx, r.dy)
}

// directions are the eight unit moves (dx, dy), clockwise from east.
var directions = [8][2]int64{
	{1, 0}, {1, 1}, {0, 1}, {-1, 1},
	{-1, 0}, {-1, -1}, {0, -1}, {1, -1},
}

// chaseDeadband is how close, in position steps, the bot must be on an axis
// before it stops moving along it: half an arena step (5 units = 80 steps of
// 1/16), so it does not overshoot back and forth around an orb it is about to
// touch.
const chaseDeadband = 40

// Chase is an arena behaviour: it heads for the nearest entity of kind "orb"
// from its own avatar, moving along each axis until within half a step of
// it; both kinds' positions are their "pos" fields. It stands still while it
// cannot see its avatar or any orb. Ties go to the lower entity id.
type Chase struct{}

// Next returns the direction towards the nearest orb.
func (Chase) Next(m *Mirror, _ time.Time) Input {
	sch := m.Schema()
	self, ok := m.Entity(m.EntityID())
	if sch == nil || !ok {
		return Input{}
	}
	selfPos, ok := sch.kind(self.Kind).Field("pos")
	orb, orbKind, ok2 := sch.Kind("orb")
	if !ok || !ok2 {
		return Input{}
	}
	orbPos, ok := orb.Field("pos")
	if !ok {
		return Input{}
	}
	sx, sy := self.Values[selfPos.Bit], self.Values[selfPos.Bit+1]
	var bx, by int64
	bestDist := int64(-1)
	for _, e := range m.Entities() {
		if e.Kind != orbKind {
			continue
		}
		ex, ey := e.Values[orbPos.Bit], e.Values[orbPos.Bit+1]
		dx, dy := ex-sx, ey-sy
		if d := dx*dx + dy*dy; bestDist < 0 || d < bestDist {
			bx, by, bestDist = ex, ey, d
		}
	}
	if bestDist < 0 {
		return Input{}
	}
	return Move(m, towards(sx, bx), towards(sy, by))
}

func towards(from, to int64) int64 {
	switch d := to - from; {
	case d > chaseDeadband:
		return 1
	case d < -chaseDeadband:
		return -1
	}
	return 0
}
