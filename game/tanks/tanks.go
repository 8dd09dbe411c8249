// Package tanks is a team game on Tickwire: two teams of tanks drive, turn
// and fire shells at each other on a walled field. It shows what the arena
// does not: entities that spawn and vanish every tick (shells), health,
// teams in per-player fields, a round timer in a room field, and a match the
// game ends itself. It is built only on the public API of package game.
//
// Each round starts when both teams have a player: every tank is back at
// its team's side with full health. A shell that reaches a tank of the other
// team takes Damage off its health; at 0 the tank is out until the next
// round and the shooter scores a kill. A round is won by the last team with
// a tank standing, or, when the round timer runs out, by the team with more
// tanks standing (then more health); every player of the winning team scores
// 1; a round in which the last tanks of both teams go out at once is a
// draw. The first team to win RoundsToWin rounds wins the match, and a team
// left with no players loses it at once; after MaxRounds rounds the match
// ends with the rounds as they stand. The game ends the match itself, with
// reason "rounds_won", "last_team_standing" or "rounds_played".
//
// A player drives with its input (turn and throttle) and fires with a game
// message (op [OpFire], no bytes), which asks to fire: the tank fires at its
// next step if it stands and its gun has cooled down.
package tanks

import (
	"math"

	"github.com/tickwire/tickwire/game"
)

// Unit is the number of position steps per world unit.
const Unit = 16

// OpFire is the op code of the fire message (see the package doc).
const OpFire = 1

// Teams: the values of a player's "team".
const (
	Red  = 0
	Blue = 1
)

// End reasons the game gives World.EndMatch.
const (
	ReasonRoundsWon        = "rounds_won"
	ReasonLastTeamStanding = "last_team_standing"
	ReasonRoundsPlayed     = "rounds_played"
)

// Config sets the game's parameters. Zero fields take the defaults.
type Config struct {
	// Width and Height are the field's size in units. Default 480 by 320.
	Width, Height int64
	// RoundTicks is a round's length in ticks. Default 600 (30 s at 20 Hz).
	RoundTicks int64
	// RoundsToWin is how many rounds a team must win to win the match.
	// Default 2.
	RoundsToWin int64
	// MaxRounds is how many rounds a match lasts at most. Default 5.
	MaxRounds int64
	// Health is a tank's health at the start of a round. Default 100.
	Health int64
	// Damage is what one shell takes off. Default 34: three hits.
	Damage int64
	// Cooldown is the ticks between two shots of one tank. Default 10.
	Cooldown int64
	// TankSpeed and ShellSpeed are in units per tick. Default 4 and 12.
	TankSpeed, ShellSpeed int64
	// ShellTicks is how long a shell flies before it vanishes. Default 40.
	ShellTicks int64
	// HitRadius is how close in units a shell must come to a tank to hit it.
	// Default 12.
	HitRadius int64
	// TurnSteps is how far a tank turns per tick, in 1/256 of a turn.
	// Default 8.
	TurnSteps uint32
}

func (c Config) withDefaults() Config {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Width, 480)
	def(&c.Height, 320)
	def(&c.RoundTicks, 600)
	def(&c.RoundsToWin, 2)
	def(&c.MaxRounds, 5)
	def(&c.Health, 100)
	def(&c.Damage, 34)
	def(&c.Cooldown, 10)
	def(&c.TankSpeed, 4)
	def(&c.ShellSpeed, 12)
	def(&c.ShellTicks, 40)
	def(&c.HitRadius, 12)
	if c.TurnSteps == 0 {
		c.TurnSteps = 8
	}
	return c
}

// Handles are the tanks schema and its field handles.
type Handles struct {
	*game.Schema
	// Tank: a player's tank, with its position, heading (256 steps to a
	// turn, 0 facing +x, 64 facing +y) and health (0: out of the round).
	Tank                  *game.Kind
	TankPos               game.Pos2Field
	TankHeading           game.AngleField
	Health                game.IntField
	Shell                 *game.Kind
	ShellPos              game.Pos2Field
	ShellHeading          game.AngleField
	Team                  game.EnumField
	Kills, Deaths         game.IntField
	Round, TicksLeft      game.IntField
	RedRounds, BlueRounds game.IntField
	RedAlive, BlueAlive   game.IntField
	// The input: Turn and Throttle each in {-1, 0, 1} (positive turns toward
	// +y and drives forward).
	Turn, Throttle game.IntField
}

var schema = newSchema()

func newSchema() Handles {
	h := Handles{Schema: game.NewSchema()}
	h.Tank = h.Kind("tank")
	h.TankPos = h.Tank.Pos2("pos", Unit)
	h.TankHeading = h.Tank.Angle("heading", 8)
	h.Health = h.Tank.Int("health")
	h.Shell = h.Kind("shell")
	h.ShellPos = h.Shell.Pos2("pos", Unit)
	h.ShellHeading = h.Shell.Angle("heading", 8)
	h.Team = h.Player.Enum("team", "red", "blue")
	h.Kills = h.Player.Int("kills")
	h.Deaths = h.Player.Int("deaths")
	h.Round = h.Room.Int("round")
	h.TicksLeft = h.Room.Int("ticks_left")
	h.RedRounds = h.Room.Int("red_rounds")
	h.BlueRounds = h.Room.Int("blue_rounds")
	h.RedAlive = h.Room.Int("red_alive")
	h.BlueAlive = h.Room.Int("blue_alive")
	h.Turn = h.Input.Int("turn")
	h.Throttle = h.Input.Int("throttle")
	return h
}

// Fields returns the tanks schema and field handles.
func Fields() Handles { return schema }

// Drive is the input numbered seq that turns and drives, each in {-1, 0, 1}.
func Drive(seq uint32, turn, throttle int64) game.Input {
	in := game.Input{Seq: seq}
	in.SetInt(schema.Turn, turn)
	in.SetInt(schema.Throttle, throttle)
	return in
}

// Fire is the message that asks to fire.
func Fire() game.Message { return game.Message{Op: OpFire} }

// Game is one room's tank battle. Make one per room with New.
type Game struct {
	cfg    Config
	w, h   int64                   // the field in steps
	dirs   [256][2]int64           // a unit's steps per heading
	tanks  map[game.PlayerID]*tank // by player
	shells map[game.EntityID]shell
	shots  []shot          // this tick's, reused
	gone   []game.EntityID // this tick's, reused
	over   bool            // the game has ended the match: nothing moves on
}

// shot is a shell to spawn at the end of driveTanks.
type shot struct {
	owner   game.PlayerID
	team    int
	x, y    int64
	heading uint32
}

// tank is what the game keeps of a player's tank besides its entity.
type tank struct {
	turn, throttle int64
	fire           bool
	cooldown       int64 // ticks until it may fire again
}

// shell is what the game keeps of a shell besides its entity.
type shell struct {
	owner game.PlayerID
	team  int
	ticks int64 // flown so far
}

// New returns a tank battle.
func New(cfg Config) *Game {
	cfg = cfg.withDefaults()
	g := &Game{cfg: cfg, w: cfg.Width * Unit, h: cfg.Height * Unit,
		tanks: map[game.PlayerID]*tank{}, shells: map[game.EntityID]shell{}}
	for a := range g.dirs {
		rad := float64(a) * 2 * math.Pi / 256
		g.dirs[a] = [2]int64{int64(math.Round(math.Cos(rad) * Unit)), int64(math.Round(math.Sin(rad) * Unit))}
	}
	return g
}

// Schema is the tanks schema.
func (*Game) Schema() *game.Schema { return schema.Schema }

// Setup does nothing: tanks come with their players, shells with shots.
func (*Game) Setup(*game.World) {}

// AddPlayer puts the player on the team its join ticket names ("red" or
// "blue": the team of its matchmaking request), else on its party's team if
// a member is seated, else on the smaller team (red on a tie), and gives it
// a tank at its team's side. A tank joining a round under way plays in it.
func (g *Game) AddPlayer(w *game.World, p *game.Player) game.EntityID {
	reds, blues := teamSizes(w, p.ID)
	team := Red
	if blues < reds {
		team = Blue
	}
	for _, o := range w.Players() {
		if p.Party != "" && o.ID != p.ID && o.Party == p.Party {
			team = o.Enum(schema.Team)
			break
		}
	}
	switch p.Team {
	case "red":
		team = Red
	case "blue":
		team = Blue
	}
	p.SetEnum(schema.Team, team)
	g.tanks[p.ID] = &tank{}
	e := w.Spawn(schema.Tank)
	e.SetInt(schema.Health, g.cfg.Health)
	slot := reds
	if team == Blue {
		slot = blues
	}
	g.place(e, team, slot)
	return e.ID()
}

// teamSizes counts the players of each team but the one given.
func teamSizes(w *game.World, except game.PlayerID) (reds, blues int) {
	for _, o := range w.Players() {
		switch {
		case o.ID == except:
		case o.Enum(schema.Team) == Blue:
			blues++
		default:
			reds++
		}
	}
	return reds, blues
}

// place puts a tank at the n-th slot of its team's side, facing the other.
func (g *Game) place(e *game.Entity, team, n int) {
	x, heading := g.w/6, uint32(0)
	if team == Blue {
		x, heading = g.w-g.w/6, 128
	}
	y := g.h/2 + int64((n+1)/2)*g.h/6*int64(1-2*(n%2)) // the middle, then above and below
	e.SetPos2(schema.TankPos, x, clamp(y, 0, g.h))
	e.SetAngle(schema.TankHeading, heading)
}

// RemovePlayer takes the player's tank off the field; a team left with no
// players loses a match under way.
func (g *Game) RemovePlayer(w *game.World, p *game.Player) {
	delete(g.tanks, p.ID)
	w.Remove(p.Entity)
	if w.Int(schema.Round) == 0 || g.over {
		return // no round has started (nobody has lost yet), or the match is over
	}
	reds, blues := teamSizes(w, p.ID)
	switch {
	case reds == 0 && blues > 0:
		g.winMatch(w, Blue, ReasonLastTeamStanding)
	case blues == 0 && reds > 0:
		g.winMatch(w, Red, ReasonLastTeamStanding)
	}
}

// ApplyInput sets the player's turn and throttle.
func (g *Game) ApplyInput(_ *game.World, p *game.Player, in game.Input) {
	if t := g.tanks[p.ID]; t != nil {
		t.turn, t.throttle = sign(in.Int(schema.Turn)), sign(in.Int(schema.Throttle))
	}
}

// HandleMessage takes a fire message: the tank fires at the next step if it
// may. Other messages are ignored.
func (g *Game) HandleMessage(_ *game.World, p *game.Player, m game.Message) {
	if t := g.tanks[p.ID]; t != nil && m.Op == OpFire {
		t.fire = true
	}
}

// Step runs one tick of the round: tanks turn, drive and fire, shells fly
// and hit, and the round and the match are settled.
func (g *Game) Step(w *game.World) {
	if w.Phase() != game.PhaseRunning || g.over {
		return
	}
	if w.Int(schema.Round) == 0 {
		if reds, blues := teamSizes(w, 0); reds == 0 || blues == 0 {
			return // a round needs both teams
		}
		g.startRound(w)
	}
	w.SetInt(schema.TicksLeft, w.Int(schema.TicksLeft)-1)
	g.flyShells(w)
	g.driveTanks(w)
	g.settleRound(w)
}

// startRound resets every tank, clears the shells and starts the timer.
func (g *Game) startRound(w *game.World) {
	for id := range g.shells {
		w.Remove(id)
	}
	clear(g.shells)
	var n [2]int
	for _, p := range w.Players() {
		team := p.Enum(schema.Team)
		if e := w.Entity(p.Entity); e != nil {
			e.SetInt(schema.Health, g.cfg.Health)
			g.place(e, team, n[team])
		}
		n[team]++
		if t := g.tanks[p.ID]; t != nil {
			*t = tank{}
		}
	}
	w.SetInt(schema.Round, w.Int(schema.Round)+1)
	w.SetInt(schema.TicksLeft, g.cfg.RoundTicks)
}

// driveTanks turns and drives every tank standing and fires those that ask
// to and may. Shells are spawned after the loop: spawning moves entities.
func (g *Game) driveTanks(w *game.World) {
	shots := g.shots[:0]
	for _, p := range w.Players() {
		t, e := g.tanks[p.ID], w.Entity(p.Entity)
		if t == nil || e == nil {
			continue
		}
		t.cooldown = max(t.cooldown-1, 0)
		fire := t.fire
		t.fire = false
		if e.Int(schema.Health) <= 0 || p.Disconnected {
			continue
		}
		heading := e.Angle(schema.TankHeading) + uint32(int64(g.cfg.TurnSteps)*t.turn)
		e.SetAngle(schema.TankHeading, heading)
		heading = e.Angle(schema.TankHeading)
		x, y := e.Pos2(schema.TankPos)
		d := g.dirs[heading]
		x = clamp(x+d[0]*g.cfg.TankSpeed*t.throttle, 0, g.w)
		y = clamp(y+d[1]*g.cfg.TankSpeed*t.throttle, 0, g.h)
		e.SetPos2(schema.TankPos, x, y)
		if fire && t.cooldown == 0 {
			t.cooldown = g.cfg.Cooldown
			shots = append(shots, shot{p.ID, p.Enum(schema.Team), x, y, heading})
		}
	}
	for _, s := range shots {
		e := w.Spawn(schema.Shell)
		e.SetPos2(schema.ShellPos, s.x, s.y)
		e.SetAngle(schema.ShellHeading, s.heading)
		g.shells[e.ID()] = shell{owner: s.owner, team: s.team}
	}
	g.shots = shots
}

// flyShells moves every shell, lands hits and removes the shells that hit,
// left the field or flew their time.
func (g *Game) flyShells(w *game.World) {
	gone := g.gone[:0]
	ents := w.Entities()
	for i := range ents {
		e := &ents[i]
		s, ok := g.shells[e.ID()]
		if !ok {
			continue
		}
		x, y := e.Pos2(schema.ShellPos)
		d := g.dirs[e.Angle(schema.ShellHeading)]
		x, y = x+d[0]*g.cfg.ShellSpeed, y+d[1]*g.cfg.ShellSpeed
		e.SetPos2(schema.ShellPos, x, y)
		s.ticks++
		g.shells[e.ID()] = s
		if x < 0 || x > g.w || y < 0 || y > g.h || s.ticks >= g.cfg.ShellTicks || g.hit(w, &s, x, y) {
			gone = append(gone, e.ID())
		}
	}
	for _, id := range gone {
		w.Remove(id)
		delete(g.shells, id)
	}
	g.gone = gone
}

// hit damages the first standing tank of the other team within reach of a
// shell at (x, y), crediting a kill to the shooter; it reports whether the
// shell hit.
func (g *Game) hit(w *game.World, s *shell, x, y int64) bool {
	r := g.cfg.HitRadius * Unit
	for _, p := range w.Players() {
		if p.Enum(schema.Team) == s.team {
			continue
		}
		e := w.Entity(p.Entity)
		if e == nil || e.Int(schema.Health) <= 0 {
			continue
		}
		tx, ty := e.Pos2(schema.TankPos)
		if dx, dy := tx-x, ty-y; dx*dx+dy*dy > r*r {
			continue
		}
		hp := max(e.Int(schema.Health)-g.cfg.Damage, 0)
		e.SetInt(schema.Health, hp)
		if hp == 0 {
			p.SetInt(schema.Deaths, p.Int(schema.Deaths)+1)
			if k := w.Player(s.owner); k != nil {
				k.SetInt(schema.Kills, k.Int(schema.Kills)+1)
				w.AddScore(k.ID, 1)
			}
		}
		return true
	}
	return false
}

// settleRound counts the tanks standing and ends the round when a team has
// none left or the timer has run out.
func (g *Game) settleRound(w *game.World) {
	var alive, health [2]int64
	for _, p := range w.Players() {
		if e := w.Entity(p.Entity); e != nil && e.Int(schema.Health) > 0 {
			alive[p.Enum(schema.Team)]++
			health[p.Enum(schema.Team)] += e.Int(schema.Health)
		}
	}
	w.SetInt(schema.RedAlive, alive[Red])
	w.SetInt(schema.BlueAlive, alive[Blue])
	winner := -1
	switch {
	case alive[Red] > 0 && alive[Blue] == 0:
		winner = Red
	case alive[Blue] > 0 && alive[Red] == 0:
		winner = Blue
	case alive[Red] == 0 && alive[Blue] == 0:
	case w.Int(schema.TicksLeft) > 0:
		return
	case alive[Red] != alive[Blue]:
		winner = Red
		if alive[Blue] > alive[Red] {
			winner = Blue
		}
	case health[Red] != health[Blue]:
		winner = Red
		if health[Blue] > health[Red] {
			winner = Blue
		}
	}
	if winner >= 0 {
		rounds := schema.RedRounds
		if winner == Blue {
			rounds = schema.BlueRounds
		}
		w.SetInt(rounds, w.Int(rounds)+1)
		for _, p := range w.Players() {
			if p.Enum(schema.Team) == winner {
				w.AddScore(p.ID, 1)
			}
		}
		if w.Int(rounds) >= g.cfg.RoundsToWin {
			g.end(w, ReasonRoundsWon)
			return
		}
	}
	if w.Int(schema.Round) >= g.cfg.MaxRounds {
		g.end(w, ReasonRoundsPlayed)
		return
	}
	g.startRound(w)
}

// winMatch ends the match for team: each of its players scores a round.
func (g *Game) winMatch(w *game.World, team int, reason string) {
	for _, p := range w.Players() {
		if p.Enum(schema.Team) == team {
			w.AddScore(p.ID, 1)
		}
	}
	g.end(w, reason)
}

// end ends the match at the end of this tick; the world stands still until
// then.
func (g *Game) end(w *game.World, reason string) {
	w.EndMatch(reason)
	g.over = true
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

func clamp(v, lo, hi int64) int64 { return max(lo, min(v, hi)) }
