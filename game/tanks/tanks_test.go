package tanks_test

import (
	"slices"
	"testing"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/tanks"
)

// battle is a running tanks match of red (seat 1) against blue (seat 2),
// face to face across the field.
type battle struct {
	t         *testing.T
	sim       *game.Sim
	red, blue *game.Player
	tick      uint64
}

func newBattle(t *testing.T, cfg tanks.Config) *battle {
	t.Helper()
	s, err := game.NewSim(tanks.New(cfg), game.Rules{Mode: "tanks", MaxPlayers: 4, MinPlayers: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	b := &battle{t: t, sim: s}
	if b.red, err = s.AddPlayer("red"); err != nil {
		t.Fatal(err)
	}
	if b.blue, err = s.AddPlayer("blue"); err != nil {
		t.Fatal(err)
	}
	return b
}

// advance runs one tick; with fire, red asks to fire.
func (b *battle) advance(fire bool) {
	b.tick++
	var msgs []game.PlayerMessage
	if fire {
		msgs = append(msgs, game.PlayerMessage{Player: b.red.ID, Message: tanks.Fire()})
	}
	b.sim.AdvanceWith(b.tick, nil, msgs)
}

func (b *battle) shells() int {
	n := 0
	for _, e := range b.sim.World().Entities() {
		if e.Kind() == tanks.Fields().Shell {
			n++
		}
	}
	return n
}

func (b *battle) health(p *game.Player) int64 {
	return b.sim.World().Entity(p.Entity).Int(tanks.Fields().Health)
}

// TestTanksParties: the members of a matchmaking party play on one team.
func TestTanksParties(t *testing.T) {
	s, err := game.NewSim(tanks.New(tanks.Config{}), game.Rules{MaxPlayers: 4, MinPlayers: 4}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var teams []int
	for _, j := range []game.JoinRequest{{Name: "a", Party: "p1"}, {Name: "b", Party: "p2"}, {Name: "c", Party: "p2"}, {Name: "d", Party: "p1"}} {
		p, err := s.Join(j)
		if err != nil {
			t.Fatal(err)
		}
		teams = append(teams, p.Enum(tanks.Fields().Team))
	}
	if teams[0] != teams[3] || teams[1] != teams[2] || teams[0] == teams[1] {
		t.Fatalf("teams %v: want a and d (one party) together, b and c (another) on the other team", teams)
	}
}

// TestTanksTicketTeams: a team named in the join ticket (the matchmaking
// request's) wins over the party and over balancing; any other name is
// ignored.
func TestTanksTicketTeams(t *testing.T) {
	s, err := game.NewSim(tanks.New(tanks.Config{}), game.Rules{MaxPlayers: 4, MinPlayers: 4}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var teams []int
	for _, j := range []game.JoinRequest{{Name: "a", Team: "blue"}, {Name: "b", Team: "blue"}, {Name: "c", Party: "p", Team: "red"}, {Name: "d", Party: "p", Team: "green"}} {
		p, err := s.Join(j)
		if err != nil {
			t.Fatal(err)
		}
		teams = append(teams, p.Enum(tanks.Fields().Team))
	}
	if want := []int{tanks.Blue, tanks.Blue, tanks.Red, tanks.Red}; !slices.Equal(teams, want) {
		t.Fatalf("teams %v, want %v: a and b as their tickets say, c as its ticket says, d with its party (green is no team)", teams, want)
	}
}

// TestTanksTeams: players join the smaller team, red on a tie.
func TestTanksTeams(t *testing.T) {
	b := newBattle(t, tanks.Config{})
	h := tanks.Fields()
	c, _ := b.sim.AddPlayer("c")
	d, _ := b.sim.AddPlayer("d")
	for i, p := range []*game.Player{b.red, b.blue, c, d} {
		if got, want := p.Enum(h.Team), i%2; got != want {
			t.Errorf("player %d on team %d, want %d", i+1, got, want)
		}
	}
}

// TestTanksShotsAndRounds: red fires at blue across the field; each shell
// is an entity that flies, hits and vanishes; three hits put blue out, red
// wins the round, and a second round won ends the match by the game's rule.
func TestTanksShotsAndRounds(t *testing.T) {
	b := newBattle(t, tanks.Config{})
	h := tanks.Fields()
	b.advance(false) // the match and round 1 start
	w := b.sim.World()
	if w.Int(h.Round) != 1 || w.Int(h.TicksLeft) != 599 || w.Int(h.RedAlive) != 1 || w.Int(h.BlueAlive) != 1 {
		t.Fatalf("round %d, %d ticks left, alive %d/%d; want round 1, 599, 1/1",
			w.Int(h.Round), w.Int(h.TicksLeft), w.Int(h.RedAlive), w.Int(h.BlueAlive))
	}
	b.advance(true)
	if n := b.shells(); n != 1 {
		t.Fatalf("%d shells after firing, want 1", n)
	}
	for range 40 {
		if b.shells() == 0 {
			break
		}
		b.advance(false)
	}
	if n, hp := b.shells(), b.health(b.blue); n != 0 || hp != 66 {
		t.Fatalf("after the shell's flight: %d shells, blue's health %d; want 0 and 66", n, hp)
	}
	for round := int64(1); round <= 2; round++ {
		for range 200 {
			if w.Int(h.RedRounds) == round {
				break
			}
			b.advance(true) // the cooldown lets one in ten through
		}
		if w.Int(h.RedRounds) != round {
			t.Fatalf("red has won %d rounds, want %d", w.Int(h.RedRounds), round)
		}
	}
	res := b.sim.Result()
	if res == nil || res.Reason != game.EndGame || res.Detail != tanks.ReasonRoundsWon {
		t.Fatalf("result %+v, want the game's own end %q", res, tanks.ReasonRoundsWon)
	}
	// Red: two kills and two rounds.
	if s := res.Standings[0]; s.Player != b.red.ID || s.Score != 4 || b.red.Int(h.Kills) != 2 || b.blue.Int(h.Deaths) != 2 {
		t.Fatalf("standings %+v, red kills %d, blue deaths %d; want red first on 4, 2 kills, 2 deaths",
			res.Standings, b.red.Int(h.Kills), b.blue.Int(h.Deaths))
	}
}

// TestTanksRoundTimer: with nobody firing, the timer in the room record
// runs down and the round is a draw; the next one starts.
func TestTanksRoundTimer(t *testing.T) {
	b := newBattle(t, tanks.Config{RoundTicks: 20})
	h := tanks.Fields()
	for range 20 {
		b.advance(false)
	}
	w := b.sim.World()
	if w.Int(h.Round) != 2 || w.Int(h.TicksLeft) != 20 || w.Int(h.RedRounds)+w.Int(h.BlueRounds) != 0 {
		t.Fatalf("after 20 ticks: round %d, %d ticks left, rounds %d/%d; want round 2 just started, no winner",
			w.Int(h.Round), w.Int(h.TicksLeft), w.Int(h.RedRounds), w.Int(h.BlueRounds))
	}
}

// TestTanksLastTeamStanding: a team whose players all leave loses the match.
func TestTanksLastTeamStanding(t *testing.T) {
	b := newBattle(t, tanks.Config{})
	b.advance(false)
	b.sim.RemovePlayer(b.blue.ID)
	b.advance(false)
	res := b.sim.Result()
	if res == nil || res.Detail != tanks.ReasonLastTeamStanding || res.Standings[0].Player != b.red.ID || res.Standings[0].Score != 1 {
		t.Fatalf("result %+v, want red to win as the last team standing", res)
	}
}

// TestTanksWaitsForBothTeams: a lone player drives no round and wins none.
func TestTanksWaitsForBothTeams(t *testing.T) {
	s, err := game.NewSim(tanks.New(tanks.Config{}), game.Rules{MaxPlayers: 4}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPlayer("alone"); err != nil {
		t.Fatal(err)
	}
	for tick := uint64(1); tick <= 50; tick++ {
		s.Advance(tick, nil)
	}
	if r := s.World().Int(tanks.Fields().Round); r != 0 || s.Result() != nil {
		t.Fatalf("alone: round %d, result %+v; want no round and no end", r, s.Result())
	}
}

// TestTanksDrive: the input drives a tank along its heading and turns it.
func TestTanksDrive(t *testing.T) {
	b := newBattle(t, tanks.Config{})
	h := tanks.Fields()
	b.advance(false)
	e := b.sim.World().Entity(b.red.Entity)
	x0, y0 := e.Pos2(h.TankPos)
	b.tick++
	b.sim.Advance(b.tick, []game.PlayerInput{{Player: b.red.ID, Input: tanks.Drive(1, 0, 1)}})
	e = b.sim.World().Entity(b.red.Entity)
	if x, y := e.Pos2(h.TankPos); x-x0 != 4*tanks.Unit || y != y0 {
		t.Fatalf("a tick forward facing +x: moved (%d, %d), want (%d, 0)", x-x0, y-y0, 4*tanks.Unit)
	}
	b.tick++
	b.sim.Advance(b.tick, []game.PlayerInput{{Player: b.red.ID, Input: tanks.Drive(2, 1, 0)}})
	if a := b.sim.World().Entity(b.red.Entity).Angle(h.TankHeading); a != 8 {
		t.Fatalf("a tick turning: heading %d, want 8", a)
	}
}

// TestTanksMaxRounds: drawn rounds do not go on for ever; after MaxRounds
// the game ends the match.
func TestTanksMaxRounds(t *testing.T) {
	b := newBattle(t, tanks.Config{RoundTicks: 5, MaxRounds: 3})
	for range 15 {
		b.advance(false)
	}
	res := b.sim.Result()
	if res == nil || res.Detail != tanks.ReasonRoundsPlayed || b.sim.World().Int(tanks.Fields().Round) != 3 {
		t.Fatalf("after 3 drawn rounds: result %+v, round %d; want the game's end %q", res, b.sim.World().Int(tanks.Fields().Round), tanks.ReasonRoundsPlayed)
	}
}
