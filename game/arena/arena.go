// Package arena is the default game and the reference workload of every
// benchmark (DESIGN.md, "arena"): orbs wander at random, players move in their
// latest input direction, and pickups raise scores. It is built only on the
// public API of package game, as any game is.
package arena

import "github.com/tickwire/tickwire/game"

// Unit is the number of position steps per world unit: positions are stored
// and sent in 1/16 of a unit.
const Unit = 16

// Config sets the arena game's parameters. Zero fields take the reference
// workload's values (DESIGN.md, "arena").
type Config struct {
	// NPCs is the number of wandering orbs. Default 48.
	NPCs int
	// Size is the side of the square world in world units. Default 1000.
	Size int32
	// Speed is how far NPCs and players move per tick, in world units. Default 5.
	Speed int32
	// PickupOdds is the 1-in-N chance per running player per tick of a random
	// pickup (score +1). Default 200; negative disables it.
	PickupOdds int
	// TouchRadius is how close, in world units, a player must come to an orb to
	// collect it (score +1, the orb jumps elsewhere). Default 10; negative
	// disables touching.
	TouchRadius int32
}

// Arena is the arena game. Make one per room with New.
type Arena struct {
	cfg     Config
	size    int64                 // in steps
	steps   [8][2]int64           // step per direction, from +x turning toward +y
	heading map[game.PlayerID]int // latest direction index per player, -1 when still
	orbs    []orbAt               // this tick's orbs, for touch; rebuilt by Step
}

// orbAt is an orb's place in the world's entities and its position, so that
// touch, which every avatar runs over every orb, reads plain numbers.
type orbAt struct {
	i    int
	x, y int64
}

// Handles are the arena's schema and its field handles: avatars with a
// position and a heading, orbs with a position, and an input of a direction
// (dx, dy each in {-1, 0, 1}). Every player's score is built in.
type Handles struct {
	*game.Schema
	Avatar, Orb       *game.Kind
	AvatarPos, OrbPos game.Pos2Field
	Heading           game.AngleField
	DX, DY            game.IntField
}

// schema is shared by every arena: handles are read-only.
var schema = newSchema()

func newSchema() Handles {
	s := Handles{Schema: game.NewSchema()}
	s.Avatar = s.Kind("avatar")
	s.AvatarPos = s.Avatar.Pos2("pos", Unit)
	s.Heading = s.Avatar.Angle("heading", 8)
	s.Orb = s.Kind("orb")
	s.OrbPos = s.Orb.Pos2("pos", Unit)
	s.DX = s.Input.Int("dx")
	s.DY = s.Input.Int("dy")
	return s
}

// Fields returns the arena's schema and its field handles, for tests and
// tools that read an arena world.
func Fields() Handles { return schema }

// Move is the arena input numbered seq that heads in direction (dx, dy),
// each in {-1, 0, 1}.
func Move(seq uint32, dx, dy int64) game.Input {
	in := game.Input{Seq: seq}
	in.SetInt(schema.DX, dx)
	in.SetInt(schema.DY, dy)
	return in
}

// New returns an arena game.
func New(cfg Config) *Arena {
	if cfg.NPCs == 0 {
		cfg.NPCs = 48
	}
	if cfg.Size <= 0 {
		cfg.Size = 1000
	}
	if cfg.Speed <= 0 {
		cfg.Speed = 5
	}
	if cfg.PickupOdds == 0 {
		cfg.PickupOdds = 200
	}
	if cfg.TouchRadius == 0 {
		cfg.TouchRadius = 10
	}
	a := &Arena{cfg: cfg, size: int64(cfg.Size) * Unit, heading: map[game.PlayerID]int{}}
	straight := int64(cfg.Speed) * Unit
	diag := (straight*7071 + 5000) / 10000 // straight / sqrt(2), rounded
	a.steps = [8][2]int64{
		{straight, 0}, {diag, diag}, {0, straight}, {-diag, diag},
		{-straight, 0}, {-diag, -diag}, {0, -straight}, {diag, -diag},
	}
	return a
}

// Schema is the arena's schema.
func (a *Arena) Schema() *game.Schema { return schema.Schema }

// Setup scatters the orbs.
func (a *Arena) Setup(w *game.World) {
	for range max(a.cfg.NPCs, 0) {
		x, y := a.randomPoint(w)
		w.Spawn(schema.Orb).SetPos2(schema.OrbPos, x, y)
	}
}

// AddPlayer places the player's avatar at a random point, standing still.
func (a *Arena) AddPlayer(w *game.World, p *game.Player) game.EntityID {
	x, y := a.randomPoint(w)
	a.heading[p.ID] = -1
	e := w.Spawn(schema.Avatar)
	e.SetPos2(schema.AvatarPos, x, y)
	return e.ID()
}

// RemovePlayer removes the player's avatar.
func (a *Arena) RemovePlayer(w *game.World, p *game.Player) {
	delete(a.heading, p.ID)
	w.Remove(p.Entity)
}

// ApplyInput sets the player's direction from dx and dy, each clamped to
// {-1, 0, 1}; (0, 0) stands still.
func (a *Arena) ApplyInput(w *game.World, p *game.Player, in game.Input) {
	dir := direction(sign(in.Int(schema.DX)), sign(in.Int(schema.DY)))
	a.heading[p.ID] = dir
	if e := w.Entity(p.Entity); e != nil && dir >= 0 {
		e.SetAngle(schema.Heading, uint32(dir*32))
	}
}

// Step moves every orb one step in a random direction and every player one step
// in its heading, then settles pickups. A disconnected player's avatar stands
// still (its neutral input stopped it) and collects nothing.
func (a *Arena) Step(w *game.World) {
	ents := w.Entities()
	a.orbs = a.orbs[:0]
	for i := range ents {
		if ents[i].Kind() == schema.Orb {
			a.move(&ents[i], schema.OrbPos, w.Rand().IntN(8))
			x, y := ents[i].Pos2(schema.OrbPos)
			a.orbs = append(a.orbs, orbAt{i: i, x: x, y: y})
		}
	}
	for _, p := range w.Players() {
		e := w.Entity(p.Entity)
		if e == nil || p.Disconnected {
			continue
		}
		if dir := a.heading[p.ID]; dir >= 0 {
			a.move(e, schema.AvatarPos, dir)
		}
		if a.cfg.PickupOdds > 0 && w.Rand().IntN(a.cfg.PickupOdds) == 0 {
			w.AddScore(p.ID, 1)
		}
		a.touch(w, p, e)
	}
}

// touch collects every orb within reach of the player's avatar.
func (a *Arena) touch(w *game.World, p *game.Player, e *game.Entity) {
	if a.cfg.TouchRadius < 0 || w.Phase() != game.PhaseRunning {
		return
	}
	r := int64(a.cfg.TouchRadius) * Unit
	ex, ey := e.Pos2(schema.AvatarPos) // e may point into the slice touched below
	ents := w.Entities()
	for k := range a.orbs {
		o := &a.orbs[k]
		dx, dy := o.x-ex, o.y-ey
		if dx*dx+dy*dy <= r*r {
			w.AddScore(p.ID, 1)
			o.x, o.y = a.randomPoint(w)
			ents[o.i].SetPos2(schema.OrbPos, o.x, o.y)
		}
	}
}

func (a *Arena) move(e *game.Entity, pos game.Pos2Field, dir int) {
	x, y := e.Pos2(pos)
	e.SetPos2(pos, clamp(x+a.steps[dir][0], 0, a.size), clamp(y+a.steps[dir][1], 0, a.size))
}

// randomPoint draws as the arena always has (Int32N), so a seed gives the
// same match it gave before the schema.
func (a *Arena) randomPoint(w *game.World) (int64, int64) {
	n := int32(a.size + 1)
	return int64(w.Rand().Int32N(n)), int64(w.Rand().Int32N(n))
}

// direction maps a unit step to an index into Arena.steps, or -1 for none.
func direction(dx, dy int64) int {
	switch {
	case dx > 0 && dy == 0:
		return 0
	case dx > 0 && dy > 0:
		return 1
	case dx == 0 && dy > 0:
		return 2
	case dx < 0 && dy > 0:
		return 3
	case dx < 0 && dy == 0:
		return 4
	case dx < 0 && dy < 0:
		return 5
	case dx == 0 && dy < 0:
		return 6
	case dx > 0 && dy < 0:
		return 7
	}
	return -1
}

func sign(v int64) int64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

func clamp(v, lo, hi int64) int64 {
	return max(lo, min(v, hi))
}
