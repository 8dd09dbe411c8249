package game_test

import (
	"fmt"

	"github.com/tickwire/tickwire/game"
)

// tanks is a small game: tanks with a 2D position in hundredths of a unit, a
// turret angle in 10 bits and health; each player has a team; the room
// counts rounds; the input is a throttle and a fire button.
type tanks struct {
	schema   *game.Schema
	tank     *game.Kind
	pos      game.Pos2Field
	turret   game.AngleField
	health   game.IntField
	team     game.EnumField
	round    game.IntField
	throttle game.FixedField
	fire     game.BoolField
}

func newTanks() *tanks {
	s := game.NewSchema()
	g := &tanks{schema: s, tank: s.Kind("tank")}
	g.pos = g.tank.Pos2("pos", 100)
	g.turret = g.tank.Angle("turret", 10)
	g.health = g.tank.Int("health")
	g.team = s.Player.Enum("team", "red", "blue")
	g.round = s.Room.Int("round")
	g.throttle = s.Input.Fixed("throttle", 100)
	g.fire = s.Input.Bool("fire")
	return g
}

func (g *tanks) Schema() *game.Schema { return g.schema }

func (g *tanks) Setup(w *game.World) { w.SetInt(g.round, 1) }

func (g *tanks) AddPlayer(w *game.World, p *game.Player) game.EntityID {
	p.SetEnum(g.team, int(p.ID)%2)
	t := w.Spawn(g.tank)
	t.SetInt(g.health, 100)
	return t.ID()
}

func (g *tanks) RemovePlayer(w *game.World, p *game.Player) { w.Remove(p.Entity) }

func (g *tanks) ApplyInput(w *game.World, p *game.Player, in game.Input) {
	t := w.Entity(p.Entity)
	x, y := t.Pos2(g.pos)
	t.SetPos2(g.pos, x+in.Fixed(g.throttle), y)
	if in.Bool(g.fire) {
		t.SetAngle(g.turret, t.Angle(g.turret)+256) // a quarter turn in 10 bits
	}
}

func (g *tanks) Step(*game.World) {}

// A game declares its state in a Schema and reads and writes it through the
// handles the declarations return.
func Example() {
	g := newTanks()
	sim, err := game.NewSim(g, game.Rules{}, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := sim.AddPlayer("ann")
	in := game.Input{Seq: 1}
	in.SetFixed(g.throttle, 150) // 1.5 units
	in.SetBool(g.fire, true)
	sim.Advance(1, []game.PlayerInput{{Player: p.ID, Input: in}})

	t := sim.World().Entity(p.Entity)
	x, y := t.Pos2(g.pos)
	fmt.Printf("tank %d at (%.2f, %.2f), turret %d/1024, health %d, team %d, round %d\n",
		t.ID(), float64(x)/100, float64(y)/100, t.Angle(g.turret), t.Int(g.health), p.Enum(g.team), sim.World().Int(g.round))

	// A bad declaration fails the room's start and names the field.
	bad := newTanks()
	bad.tank.Fixed("speed", 0)
	_, err = game.NewSim(bad, game.Rules{}, 1)
	fmt.Println(err)
	// Output:
	// tank 1 at (1.50, 0.00), turret 256/1024, health 100, team 1, round 1
	// invalid schema: kind tank: field "speed": precision 1/0 cannot be represented: steps per unit must be 1 to 1000000
}
