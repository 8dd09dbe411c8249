package bots

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// Hunt is a tanks behaviour (package game/tanks): it turns its tank toward
// the nearest standing tank of the other team, drives at it until close, and
// fires (the game message op 1) when it is aimed. It reads the schema by
// name: kind "tank" with "pos", "heading" and "health", the player field
// "team", and the input fields "turn" and "throttle". It sends the neutral
// input and no message while its tank is out, no enemy stands, or the
// schema is not the tanks one. It fires at one aimed chance in two, drawn
// from its seed, so that two hunters facing each other do not fire in step
// and put each other out at once, round after round.
type Hunt struct {
	rng    *rand.Rand
	schema *Schema // the schema f was looked up in
	f      huntFields
	ok     bool
	fire   bool // aimed at the last Next
}

// NewHunt returns a hunter whose shots are fixed by seed.
func NewHunt(seed uint64) *Hunt {
	return &Hunt{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// huntOpFire is the tanks game's fire message.
const huntOpFire = 1

type huntFields struct {
	tank                       uint32
	pos, heading, health, team Field
	turn, throttle             Field
	headingSteps               float64
}

// How Hunt drives, in position steps of the tanks schema (16 a unit) and
// heading steps (256 a turn).
const (
	huntClose    = 60 * 16 // stop driving this close to the target
	huntAimTurn  = 6       // turn until the heading is this close
	huntAimFire  = 10      // fire when the heading is this close
	huntMaxRange = 400 * 16
)

// Fits says whether the schema is the tanks one Hunt reads.
func (h *Hunt) Fits(s *Schema) error {
	if h.lookup(s); !h.ok {
		return fmt.Errorf("hunt needs kind tank (pos, heading, health), player field team and input turn, throttle: %w", ErrWrongGame)
	}
	return nil
}

func (h *Hunt) lookup(s *Schema) {
	h.schema, h.ok = s, false
	tank, id, ok := s.Kind("tank")
	if !ok {
		return
	}
	var f huntFields
	var found [6]bool
	f.tank = id
	f.pos, found[0] = tank.Field("pos")
	f.heading, found[1] = tank.Field("heading")
	f.health, found[2] = tank.Field("health")
	f.team, found[3] = s.Player.Field("team")
	f.turn, found[4] = s.Input.Field("turn")
	f.throttle, found[5] = s.Input.Field("throttle")
	for _, ok := range found {
		if !ok {
			return
		}
	}
	if f.heading.Type != tickwirev1.FieldType_FIELD_TYPE_ANGLE || f.heading.Bits == 0 {
		return
	}
	f.headingSteps = float64(uint64(1) << f.heading.Bits)
	h.f, h.ok = f, true
}

// Messages fires when the last Next found the tank aimed.
func (h *Hunt) Messages(*Mirror, time.Time) []Message {
	if !h.fire {
		return nil
	}
	return []Message{{Op: huntOpFire}}
}

// Next turns and drives toward the nearest enemy.
func (h *Hunt) Next(m *Mirror, _ time.Time) Input {
	h.fire = false
	if s := m.Schema(); s == nil {
		return Input{}
	} else if s != h.schema {
		h.lookup(s)
	}
	if !h.ok || !m.Synced() || m.Phase() != tickwirev1.MatchPhase_MATCH_PHASE_RUNNING {
		return Input{}
	}
	f := &h.f
	self, ok := m.Entity(m.EntityID())
	me, ok2 := m.Player(m.PlayerID())
	if !ok || !ok2 || self.Values[f.health.Bit] <= 0 {
		return Input{}
	}
	team := me.Values[f.team.Bit]
	sx, sy := self.Values[f.pos.Bit], self.Values[f.pos.Bit+1]
	var tx, ty int64
	best := int64(-1)
	for _, p := range m.Players() {
		if p.Values[f.team.Bit] == team {
			continue
		}
		e, ok := m.Entity(p.EntityID)
		if !ok || e.Kind != f.tank || e.Values[f.health.Bit] <= 0 {
			continue
		}
		ex, ey := e.Values[f.pos.Bit], e.Values[f.pos.Bit+1]
		if d := (ex-sx)*(ex-sx) + (ey-sy)*(ey-sy); best < 0 || d < best {
			tx, ty, best = ex, ey, d
		}
	}
	if best < 0 {
		return Input{}
	}
	want := math.Atan2(float64(ty-sy), float64(tx-sx)) / (2 * math.Pi) * f.headingSteps
	diff := math.Mod(want-float64(self.Values[f.heading.Bit]), f.headingSteps)
	switch {
	case diff > f.headingSteps/2:
		diff -= f.headingSteps
	case diff < -f.headingSteps/2:
		diff += f.headingSteps
	}
	var in Input
	switch {
	case diff > huntAimTurn:
		in.Set(f.turn, 1)
	case diff < -huntAimTurn:
		in.Set(f.turn, -1)
	}
	if best > huntClose*huntClose {
		in.Set(f.throttle, 1)
	}
	h.fire = math.Abs(diff) <= huntAimFire && best <= huntMaxRange*huntMaxRange && h.rng.IntN(2) == 0
	return in
}
