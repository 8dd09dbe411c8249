package bots

import (
	"math"
	"time"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// Hunt is a tanks behaviour (package game/tanks): it turns its tank toward
// the nearest standing tank of the other team, drives at it until close, and
// fires when it is aimed. It reads the schema by name: kind "tank" with
// "pos", "heading" and "health", the player field "team", and the input
// fields "turn", "throttle" and "fire". It sends the neutral input while its
// tank is out, no enemy stands, or the schema is not the tanks one.
type Hunt struct {
	schema *Schema // the schema f was looked up in
	f      huntFields
	ok     bool
}

type huntFields struct {
	tank                       uint32
	pos, heading, health, team Field
	turn, throttle, fire       Field
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

func (h *Hunt) lookup(s *Schema) {
	h.schema, h.ok = s, false
	tank, id, ok := s.Kind("tank")
	if !ok {
		return
	}
	var f huntFields
	var found [7]bool
	f.tank = id
	f.pos, found[0] = tank.Field("pos")
	f.heading, found[1] = tank.Field("heading")
	f.health, found[2] = tank.Field("health")
	f.team, found[3] = s.Player.Field("team")
	f.turn, found[4] = s.Input.Field("turn")
	f.throttle, found[5] = s.Input.Field("throttle")
	f.fire, found[6] = s.Input.Field("fire")
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

// Next aims at the nearest enemy and fires when aimed.
func (h *Hunt) Next(m *Mirror, _ time.Time) Input {
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
	if math.Abs(diff) <= huntAimFire && best <= huntMaxRange*huntMaxRange {
		in.Set(f.fire, 1)
	}
	return in
}
