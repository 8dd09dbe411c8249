package game

import (
	"errors"
	"strings"
	"testing"
)

// dots is a small game for the engine's own tests: one dot per player, which
// moves by its input.
type dots struct {
	schema *Schema
	dot    *Kind
	pos    Pos2Field
	name   TextField
	kills  IntField
	round  IntField
	dx, dy IntField
}

func newDots() *dots {
	s := NewSchema()
	g := &dots{schema: s, dot: s.Kind("dot")}
	g.pos = g.dot.Pos2("pos", 16)
	g.name = g.dot.Text("label")
	g.kills = s.Player.Int("kills")
	g.round = s.Room.Int("round")
	g.dx, g.dy = s.Input.Int("dx"), s.Input.Int("dy")
	return g
}

func (g *dots) Schema() *Schema { return g.schema }
func (g *dots) Setup(w *World)  { w.SetInt(g.round, 1) }
func (g *dots) AddPlayer(w *World, p *Player) EntityID {
	e := w.Spawn(g.dot)
	e.SetText(g.name, p.Name)
	return e.ID()
}
func (g *dots) RemovePlayer(w *World, p *Player) { w.Remove(p.Entity) }
func (g *dots) ApplyInput(w *World, p *Player, in Input) {
	if e := w.Entity(p.Entity); e != nil {
		x, y := e.Pos2(g.pos)
		e.SetPos2(g.pos, x+in.Int(g.dx), y+in.Int(g.dy))
	}
}
func (g *dots) Step(*World) {}

func newTestRoom(t *testing.T, cfg RoomConfig) *Room {
	t.Helper()
	cfg.Game = newDots()
	r, err := NewRoom(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A bad schema fails the room's start with an error that names the field.
func TestSchemaValidationNamesTheField(t *testing.T) {
	tests := []struct {
		name    string
		declare func(s *Schema)
		want    string
	}{
		{"duplicate field", func(s *Schema) { k := s.Kind("tank"); k.Int("hp"); k.Bool("hp") }, `kind tank: field "hp": declared twice`},
		{"duplicate kind", func(s *Schema) { s.Kind("tank"); s.Kind("tank") }, `kind "tank" declared twice`},
		{"bad name", func(s *Schema) { s.Player.Int("Team") }, `player: field "Team": a name is`},
		{"precision", func(s *Schema) { s.Kind("ship").Fixed("speed", 0) }, `kind ship: field "speed": precision 1/0 cannot be represented`},
		{"fine precision", func(s *Schema) { s.Room.Fixed("clock", 10_000_000) }, `room: field "clock": precision 1/10000000`},
		{"angle bits", func(s *Schema) { s.Kind("ship").Angle("heading", 33) }, `field "heading": an angle takes 1 to 32 bits`},
		{"enum", func(s *Schema) { s.Player.Enum("team") }, `player: field "team": an enum names 1 to 256 values, not 0`},
		{"enum value", func(s *Schema) { s.Player.Enum("team", "red", "red") }, `enum value "red" named twice`},
		{"input text", func(s *Schema) { s.Input.Text("say") }, `input: field "say": an input carries no text`},
		{"too many input values", func(s *Schema) {
			for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
				s.Input.Pos3(n, 1)
			}
		}, `input: field "e": too many input values: 17, at most 16`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newDots()
			tc.declare(g.schema)
			_, err := NewRoom(RoomConfig{ID: "r", Game: g, Observer: &tickLog{}})
			if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewRoom: %v; want ErrSchema naming %q", err, tc.want)
			}
		})
	}
	if _, err := NewSim(newDots(), Rules{}, 1); err != nil {
		t.Fatalf("a good schema: %v", err)
	}
}

// 64 mask bits fit exactly; the 65th does not.
func TestSchemaBitLimit(t *testing.T) {
	s := NewSchema()
	k := s.Kind("blob")
	for i := range 21 {
		k.Pos3("p"+strings.Repeat("x", i), 1)
	}
	k.Bool("last") // 21*3 = 63 bits, then bit 63
	if err := s.Validate(); err != nil {
		t.Fatalf("64 bits: %v", err)
	}
	k.Bool("over")
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), `kind blob: field "over": too many fields: it would use mask bit 64`) {
		t.Fatalf("65th bit: %v", err)
	}
}

func TestValuesOfAnotherKindPanics(t *testing.T) {
	s := NewSchema()
	a, b := s.Kind("a"), s.Kind("b")
	hp := a.Int("hp")
	b.Int("hp")
	sim, err := NewSim(&fixed{s}, Rules{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	e := sim.World().Spawn(b)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "a field of kind a used on a record of kind b") {
			t.Fatalf("recovered %v", r)
		}
	}()
	e.SetInt(hp, 1)
}

// fixed is a game with a given schema and no rules.
type fixed struct{ s *Schema }

func (g *fixed) Schema() *Schema                    { return g.s }
func (g *fixed) Setup(*World)                       {}
func (g *fixed) AddPlayer(*World, *Player) EntityID { return 0 }
func (g *fixed) RemovePlayer(*World, *Player)       {}
func (g *fixed) ApplyInput(*World, *Player, Input)  {}
func (g *fixed) Step(*World)                        {}

func TestChecksumWorkedExample(t *testing.T) {
	// The worked example in PROTOCOL.md ("Checksum"); the expected value was
	// computed independently from the byte string listed there.
	s := NewSchema()
	ship := s.Kind("ship")
	pos := ship.Pos2("pos", 16)
	heading := ship.Angle("heading", 8)
	label := ship.Text("label")
	team := s.Player.Enum("team", "red", "blue")
	round := s.Room.Int("round")
	sim, err := NewSim(&fixed{s}, Rules{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	w := sim.World()
	empty, _ := NewSim(&fixed{NewSchema()}, Rules{}, 1)
	if got := empty.World().Checksum(); got != 0x811c9dc5 {
		t.Fatalf("checksum of empty state = %08x, want the FNV offset basis 811c9dc5", got)
	}
	e := w.Spawn(ship)
	e.SetPos2(pos, 160, -16)
	e.SetAngle(heading, 64)
	e.SetText(label, "ab")
	p, _ := sim.AddPlayer("p")
	p.Score = 3
	p.SetEnum(team, 1)
	w.SetInt(round, 2)
	if got := w.Checksum(); got != 0x9ff90852 {
		t.Fatalf("checksum = %08x, want 9ff90852", got)
	}
}

func TestStandingsShareRanks(t *testing.T) {
	got := standings([]*Player{{ID: 1, Score: 5}, {ID: 2, Score: 9}, {ID: 3, Score: 5}, {ID: 4, Score: 1}})
	want := []Standing{{Player: 2, Score: 9, Rank: 1}, {Player: 1, Score: 5, Rank: 2}, {Player: 3, Score: 5, Rank: 2}, {Player: 4, Score: 1, Rank: 4}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("standings %+v, want %+v", got, want)
		}
	}
}

// TestSpawnReusesRemovedStorage: an entity spawned after one of its kind was
// removed starts zeroed, with a new id, and spawning again once the storage
// is reused allocates nothing.
func TestSpawnReusesRemovedStorage(t *testing.T) {
	s := NewSchema()
	shell := s.Kind("shell")
	pos := shell.Pos2("pos", 16)
	label := shell.Text("label")
	sim, err := NewSim(&fixed{s}, Rules{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	w := sim.World()
	a := w.Spawn(shell)
	a.SetPos2(pos, 3, 4)
	a.SetText(label, "old")
	old := a.ID()
	w.Remove(old)
	b := w.Spawn(shell)
	if x, y := b.Pos2(pos); b.ID() == old || x != 0 || y != 0 || b.Text(label) != "" {
		t.Fatalf("respawned entity %d: pos %d,%d label %q; want a new id and zero fields", b.ID(), x, y, b.Text(label))
	}
	if allocs := testing.AllocsPerRun(100, func() { w.Remove(w.Spawn(shell).ID()) }); allocs != 0 {
		t.Errorf("spawn and remove: %v allocs, want 0 once storage is reused", allocs)
	}
	if w.Entity(old) != nil || len(w.Entities()) != 1 {
		t.Fatalf("entities %v after the churn, want only %d", w.Entities(), b.ID())
	}
}
