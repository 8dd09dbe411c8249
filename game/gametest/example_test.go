package gametest_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/gametest"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// This file is the game of docs/GAMES.md, step by step: a race. Each player
// has a runner that moves right at the speed its input asks for; once per
// race it may send a boost message that jumps it ahead; the first past the
// finish line wins, and the game ends the match itself.

// Step 1: the schema. Declare it once, for every room of the game; the
// handles are how the game reads and writes each field.
type raceSchema struct {
	*game.Schema
	Runner   *game.Kind
	Pos      game.Pos2Field // in 1/16 of a unit
	Boosts   game.IntField  // per player: boosts left
	Length   game.IntField  // room: the track's length in units
	Speed    game.IntField  // input: 0, 1 or 2 units a tick
	OpBoost  uint32         // message from a player: boost now
	OpRefuse uint32         // message to a player: why a boost was refused
}

var race = func() raceSchema {
	s := raceSchema{Schema: game.NewSchema(), OpBoost: 1, OpRefuse: 2}
	s.Runner = s.Kind("runner")
	s.Pos = s.Runner.Pos2("pos", 16)
	s.Boosts = s.Player.Int("boosts")
	s.Length = s.Room.Int("length")
	s.Speed = s.Input.Int("speed")
	return s
}()

// Step 2: the game. It implements game.Game, and game.Admitter and
// game.Messenger for the hooks it wants.
type Race struct {
	speed map[game.PlayerID]int64 // each player's latest input
}

func NewRace() *Race { return &Race{speed: map[game.PlayerID]int64{}} }

func (*Race) Schema() *game.Schema { return race.Schema }

func (*Race) Setup(w *game.World) { w.SetInt(race.Length, 100) }

// AdmitPlayer refuses latecomers with a code of the game's own.
func (*Race) AdmitPlayer(w *game.World, _ game.JoinRequest) *game.Refusal {
	if w.Phase() != game.PhaseWaiting {
		return &game.Refusal{Code: "race_started", Message: "the race has started without you"}
	}
	return nil
}

func (r *Race) AddPlayer(w *game.World, p *game.Player) game.EntityID {
	p.SetInt(race.Boosts, 1)
	e := w.Spawn(race.Runner)
	e.SetPos2(race.Pos, 0, int64(p.ID)*16)
	return e.ID()
}

func (r *Race) RemovePlayer(w *game.World, p *game.Player) {
	delete(r.speed, p.ID)
	w.Remove(p.Entity)
}

// ApplyInput keeps the speed asked for, within the rules.
func (r *Race) ApplyInput(_ *game.World, p *game.Player, in game.Input) {
	r.speed[p.ID] = min(max(in.Int(race.Speed), 0), 2)
}

// HandleMessage boosts a runner 10 units, once; a second boost is refused
// with a message to that player alone.
func (*Race) HandleMessage(w *game.World, p *game.Player, m game.Message) {
	if m.Op != race.OpBoost || w.Phase() != game.PhaseRunning {
		return
	}
	if p.Int(race.Boosts) == 0 {
		w.Send(game.Message{Op: race.OpRefuse, Data: []byte("no_boosts_left")}, p.ID)
		return
	}
	p.SetInt(race.Boosts, 0)
	if e := w.Entity(p.Entity); e != nil {
		x, y := e.Pos2(race.Pos)
		e.SetPos2(race.Pos, x+10*16, y)
	}
}

// Step moves every runner; the first past the line wins and ends the match.
func (r *Race) Step(w *game.World) {
	if w.Phase() != game.PhaseRunning {
		return
	}
	finish := w.Int(race.Length) * 16
	for _, p := range w.Players() { // in id order: a tie goes to the first seated
		e := w.Entity(p.Entity)
		if e == nil {
			continue
		}
		x, y := e.Pos2(race.Pos)
		x += r.speed[p.ID] * 16
		e.SetPos2(race.Pos, x, y)
		if x >= finish {
			w.SetScore(p.ID, 1)
			w.EndMatch("finish_line")
			return
		}
	}
}

// Step 3: a bot for the game. A behaviour reads the generic mirror by the
// field names of the schema the Welcome carried; it sends its input at every
// act, and messages (it is a bots.Messenger) when it wants to.
type racer struct{ boosts int }

func (*racer) Next(m *bots.Mirror, _ time.Time) bots.Input {
	var in bots.Input
	if s := m.Schema(); s != nil {
		if f, ok := s.Input.Field("speed"); ok {
			in.Set(f, 2)
		}
	}
	return in
}

func (r *racer) Messages(m *bots.Mirror, _ time.Time) []bots.Message {
	if m.Phase() != tickwirev1.MatchPhase_MATCH_PHASE_RUNNING || r.boosts == 2 {
		return nil
	}
	r.boosts++ // the second is refused: the bot hears why
	return []bots.Message{{Op: 1}}
}

// Example is the game of docs/GAMES.md, from its schema to a match played by
// bots on a real server: it checks the game replays deterministically, then
// hosts it on loopback, lets two bots race to the end and checks what they
// saw against the server.
func Example() {
	// Step 4: test the rules alone, without a server.
	scripted := gametest.Config{
		Game:    func() game.Game { return NewRace() },
		Players: 2,
		Input: func(w *game.World, p *game.Player) (game.Input, bool) {
			var in game.Input
			in.SetInt(race.Speed, int64(p.ID))
			return in, true
		},
	}
	res, err := gametest.Replay(scripted, 1000)
	if err != nil || res == nil {
		fmt.Println("not deterministic, or no end:", err)
		return
	}
	fmt.Println("deterministic: true ended by:", res.Detail, "winner:", res.Standings[0].Name)

	// Step 5: host it. tickwire serve does this wiring for its own games;
	// here the game server alone, with open rooms.
	final := make(chan netcode.MatchResult, 1)
	srv, err := netcode.NewServer(netcode.Config{
		NewGame:    func(string) game.Game { return NewRace() },
		Rules:      game.Rules{Mode: "race", MaxPlayers: 2, MinPlayers: 2},
		OpenRooms:  true,
		OnMatchEnd: func(m netcode.MatchResult) { final <- m },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle(netcode.Path, srv)
	go func() { _ = http.Serve(ln, mux) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = ln.Close()
	}()

	// Step 6: play it with bots, and check them against the server.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runner, err := bots.NewRunner(bots.RunConfig{
		URL: "ws://" + ln.Addr().String(), Rooms: 1, Players: 2, Game: "race",
		NewBehaviour: func(uint64) bots.Behaviour { return &racer{} },
		Duration:     20 * time.Second,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := runner.Run(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	m := <-final
	same := true
	for _, c := range runner.Clients() {
		end := c.Stats().MatchEnd
		same = same && end != nil && end.Verified && c.State().Checksum == m.Checksum
	}
	fmt.Println("bots joined:", rep.ClientsJoined, "desyncs:", rep.Desyncs, "mirrors equal the server:", same)
	fmt.Println("ended by:", m.Result.Detail, "refusals heard:", rep.Events)
	// Output:
	// deterministic: true ended by: finish_line winner: p2
	// bots joined: 2 desyncs: 0 mirrors equal the server: true
	// ended by: finish_line refusals heard: 2
}
