package game

// Entity kinds of the arena game.
const (
	KindPlayer uint32 = 1
	// KindOrb is a wandering pickup: touching one scores a point and moves it.
	KindOrb uint32 = 2
)

// ArenaConfig sets the arena game's parameters. Zero fields take the reference
// workload's values (DESIGN.md, "arena").
type ArenaConfig struct {
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

// Arena is the default game and the reference workload: orbs wander at random,
// players move in their latest input direction, and pickups raise scores.
type Arena struct {
	cfg     ArenaConfig
	size    int32            // quantized
	steps   [8][2]int32      // quantized step per direction, from +x turning toward +y
	heading map[PlayerID]int // latest direction index per player, -1 when still
}

// NewArena returns an arena game.
func NewArena(cfg ArenaConfig) *Arena {
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
	a := &Arena{cfg: cfg, size: cfg.Size * Unit, heading: map[PlayerID]int{}}
	straight := cfg.Speed * Unit
	diag := (straight*7071 + 5000) / 10000 // straight / sqrt(2), rounded
	a.steps = [8][2]int32{
		{straight, 0}, {diag, diag}, {0, straight}, {-diag, diag},
		{-straight, 0}, {-diag, -diag}, {0, -straight}, {diag, -diag},
	}
	return a
}

// Setup scatters the orbs.
func (a *Arena) Setup(w *World) {
	for range max(a.cfg.NPCs, 0) {
		x, y := a.randomPoint(w)
		w.Spawn(Entity{Kind: KindOrb, X: x, Y: y})
	}
}

// AddPlayer places the player's avatar at a random point, standing still.
func (a *Arena) AddPlayer(w *World, p *Player) EntityID {
	x, y := a.randomPoint(w)
	a.heading[p.ID] = -1
	return w.Spawn(Entity{Kind: KindPlayer, X: x, Y: y})
}

// RemovePlayer removes the player's avatar.
func (a *Arena) RemovePlayer(w *World, p *Player) {
	delete(a.heading, p.ID)
	w.Remove(p.Entity)
}

// ApplyInput sets the player's direction from dx and dy, each clamped to
// {-1, 0, 1}; (0, 0) stands still.
func (a *Arena) ApplyInput(w *World, p *Player, in Input) {
	dir := direction(sign(in.DX), sign(in.DY))
	a.heading[p.ID] = dir
	if e := w.Entity(p.Entity); e != nil && dir >= 0 {
		e.Angle = uint8(dir * 32)
	}
}

// Step moves every orb one step in a random direction and every player one step
// in its heading, then settles pickups. A disconnected player's avatar stands
// still (its neutral input stopped it) and collects nothing.
func (a *Arena) Step(w *World) {
	ents := w.Entities()
	for i := range ents {
		if ents[i].Kind == KindOrb {
			a.move(&ents[i], w.Rand().IntN(8))
		}
	}
	for _, p := range w.Players() {
		e := w.Entity(p.Entity)
		if e == nil || p.Disconnected {
			continue
		}
		if dir := a.heading[p.ID]; dir >= 0 {
			a.move(e, dir)
		}
		if a.cfg.PickupOdds > 0 && w.Rand().IntN(a.cfg.PickupOdds) == 0 {
			w.AddScore(p.ID, 1)
		}
		a.touch(w, p, e)
	}
}

// touch collects every orb within reach of the player's avatar.
func (a *Arena) touch(w *World, p *Player, e *Entity) {
	if a.cfg.TouchRadius < 0 || w.Phase() != PhaseRunning {
		return
	}
	r := int64(a.cfg.TouchRadius * Unit)
	ex, ey := e.X, e.Y // e may point into the slice touched below
	ents := w.Entities()
	for i := range ents {
		o := &ents[i]
		if o.Kind != KindOrb {
			continue
		}
		dx, dy := int64(o.X-ex), int64(o.Y-ey)
		if dx*dx+dy*dy <= r*r {
			w.AddScore(p.ID, 1)
			o.X, o.Y = a.randomPoint(w)
		}
	}
}

func (a *Arena) move(e *Entity, dir int) {
	e.X = clamp(e.X+a.steps[dir][0], 0, a.size)
	e.Y = clamp(e.Y+a.steps[dir][1], 0, a.size)
}

func (a *Arena) randomPoint(w *World) (int32, int32) {
	return w.Rand().Int32N(a.size + 1), w.Rand().Int32N(a.size + 1)
}

// direction maps a unit step to an index into Arena.steps, or -1 for none.
func direction(dx, dy int32) int {
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

func sign(v int32) int32 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

func clamp(v, lo, hi int32) int32 {
	return max(lo, min(v, hi))
}
