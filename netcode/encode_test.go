package netcode

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
	"github.com/tickwire/tickwire/internal/wsframe"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// arenaStates runs the reference arena (16 players, 48 orbs) and returns the
// states at two consecutive ticks.
// arenaSim is the reference arena room: 16 players, each joined and moving.
func arenaSim(tb testing.TB) *game.Sim {
	sim := newSim(arena.New(arena.Config{}), game.Rules{}, 1)
	for i := range 16 {
		p, err := sim.AddPlayer("p")
		if err != nil {
			tb.Fatal(err)
		}
		sim.Advance(uint64(i+1), []game.PlayerInput{{Player: p.ID, Input: arena.Move(1, int64(i%3)-1, 1)}})
	}
	return sim
}

func arenaStates(tb testing.TB) (*codec, *roomState, *roomState) {
	sim := arenaSim(tb)
	var a, b roomState
	a.capture(sim)
	sim.Advance(100, nil)
	b.capture(sim)
	return newCodec(arena.Fields().Schema), &a, &b
}

func TestEncodeDeltaArena(t *testing.T) {
	c, a, b := arenaStates(t)
	buf := newEncoder(c).encodeDelta(a, b)
	var f pb.ServerFrame
	if err := proto.Unmarshal(buf, &f); err != nil {
		t.Fatal(err)
	}
	d := f.GetDelta()
	if d.Tick != b.tick || d.BaseTick != a.tick || d.Checksum != b.checksum {
		t.Fatalf("delta header %d/%d/%08x, want %d/%d/%08x", d.Tick, d.BaseTick, d.Checksum, b.tick, a.tick, b.checksum)
	}
	if !d.Updates.All || len(d.Updates.IdGaps) != 0 {
		t.Fatalf("every entity moved, yet all=%v with %d ids", d.Updates.All, len(d.Updates.IdGaps))
	}
	if len(d.Removed) != 0 || d.Created != nil || len(d.PlayersJoined) != 0 || d.PlayerUpdates != nil || d.Room != nil {
		t.Fatal("nothing was created or removed, yet the delta says so")
	}
	mirrorRoundTrip(t, c, a, b)
	t.Logf("arena delta: %d bytes for %d entities", len(buf), len(b.entities))
}

func TestEncodeDeltaIdleRoomIsTiny(t *testing.T) {
	sim := newSim(arena.New(arena.Config{NPCs: -1}), game.Rules{}, 1)
	if _, err := sim.AddPlayer("still"); err != nil {
		t.Fatal(err)
	}
	var a, b roomState
	sim.Advance(1000, nil)
	a.capture(sim)
	sim.Advance(1001, nil)
	b.capture(sim)
	buf := newEncoder(newCodec(arena.Fields().Schema)).encodeDelta(&a, &b)
	if len(buf) > 20 {
		t.Fatalf("idle delta is %d bytes, want at most 20", len(buf))
	}
}

// mirrorRoundTrip checks the wire from outside, as a client sees it: a bot
// mirror given the Welcome's schema, the snapshot of a and the delta from a
// to b holds exactly the snapshot of b, and verifies both checksums.
func mirrorRoundTrip(t *testing.T, c *codec, a, b *roomState) {
	t.Helper()
	sch, err := bots.NewSchema(roundTrip(t, c.wire))
	if err != nil {
		t.Fatal(err)
	}
	var m, want bots.Mirror
	m.SetSchema(sch)
	want.SetSchema(sch)
	if err := m.ApplySnapshot(roundTrip(t, c.snapshot(a, 0))); err != nil {
		t.Fatalf("snapshot of a: %v", err)
	}
	var f pb.ServerFrame
	if err := proto.Unmarshal(newEncoder(c).encodeDelta(a, b), &f); err != nil {
		t.Fatal(err)
	}
	if err := m.ApplyDelta(f.GetDelta()); err != nil {
		t.Fatalf("delta a to b: %v", err)
	}
	if err := want.ApplySnapshot(roundTrip(t, c.snapshot(b, 0))); err != nil {
		t.Fatalf("snapshot of b: %v", err)
	}
	got, exp := m.State(), want.State()
	got.LastInputSeq, exp.LastInputSeq = 0, 0
	if !sameState(got, exp) {
		t.Fatalf("mirror after the delta:\n%+v\nthe snapshot at b:\n%+v", got, exp)
	}
}

func roundTrip[M proto.Message](t *testing.T, m M) M {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out := m.ProtoReflect().New().Interface().(M)
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameState(a, b bots.State) bool {
	if a.Tick != b.Tick || a.Checksum != b.Checksum || len(a.Entities) != len(b.Entities) || len(a.Players) != len(b.Players) ||
		!sameRecord(a.Room, b.Room) {
		return false
	}
	for i := range a.Entities {
		x, y := a.Entities[i], b.Entities[i]
		if x.ID != y.ID || x.Kind != y.Kind || !sameRecord(x.Record, y.Record) {
			return false
		}
	}
	for i := range a.Players {
		x, y := a.Players[i], b.Players[i]
		if x.ID != y.ID || x.Name != y.Name || x.EntityID != y.EntityID || x.Score != y.Score || !sameRecord(x.Record, y.Record) {
			return false
		}
	}
	return true
}

func sameRecord(a, b bots.Record) bool {
	if len(a.Values) != len(b.Values) || len(a.Texts) != len(b.Texts) {
		return false
	}
	for i := range a.Values {
		if a.Values[i] != b.Values[i] {
			return false
		}
	}
	for i := range a.Texts {
		if a.Texts[i] != b.Texts[i] {
			return false
		}
	}
	return true
}

// rich is a game with 16 fields per entity, every field type, 3D positions,
// two kinds, player and room fields: the generic path at its widest.
type rich struct {
	schema                         *game.Schema
	unit, shot                     *game.Kind
	pos, vel, shotPos              game.Pos3Field
	yaw, pitch                     game.AngleField
	hp, armor, ammo, kills, target game.IntField
	team, state                    game.EnumField
	alive, shield                  game.BoolField
	charge, heat                   game.FixedField
	label                          game.TextField
	pkills                         game.IntField
	ready                          game.BoolField
	title                          game.TextField
	round                          game.IntField
	timer                          game.FixedField
	units                          int
	moveAll                        bool
}

func newRich(units int) *rich {
	s := game.NewSchema()
	g := &rich{schema: s, units: units, moveAll: true}
	g.unit = s.Kind("unit")
	g.pos, g.vel = g.unit.Pos3("pos", 16), g.unit.Pos3("vel", 100)
	g.yaw, g.pitch = g.unit.Angle("yaw", 10), g.unit.Angle("pitch", 8)
	g.hp, g.armor, g.ammo = g.unit.Int("hp"), g.unit.Int("armor"), g.unit.Int("ammo")
	g.team, g.alive, g.shield = g.unit.Enum("team", "red", "blue"), g.unit.Bool("alive"), g.unit.Bool("shield")
	g.charge, g.heat = g.unit.Fixed("charge", 100), g.unit.Fixed("heat", 100)
	g.state = g.unit.Enum("state", "idle", "walk", "run", "dead")
	g.kills, g.target, g.label = g.unit.Int("kills"), g.unit.Int("target"), g.unit.Text("label")
	g.shot = s.Kind("shot")
	g.shotPos = g.shot.Pos3("pos", 16)
	g.pkills, g.ready, g.title = s.Player.Int("kills"), s.Player.Bool("ready"), s.Player.Text("title")
	g.round, g.timer = s.Room.Int("round"), s.Room.Fixed("timer", 10)
	s.Input.Pos3("aim", 16)
	return g
}

func (g *rich) Schema() *game.Schema { return g.schema }
func (g *rich) Setup(w *game.World) {
	for i := range g.units {
		e := w.Spawn(g.unit)
		e.SetPos3(g.pos, int64(i)*100, -int64(i)*7, 1<<33)
		e.SetInt(g.hp, 100)
		e.SetText(g.label, "unit")
		e.SetEnum(g.team, i%2)
	}
}
func (g *rich) AddPlayer(w *game.World, p *game.Player) game.EntityID {
	p.SetText(g.title, "rookie")
	return w.Spawn(g.unit).ID()
}
func (g *rich) RemovePlayer(w *game.World, p *game.Player)              { w.Remove(p.Entity) }
func (g *rich) ApplyInput(w *game.World, p *game.Player, in game.Input) {}

// Step moves every unit in 3D; every few ticks it changes the other fields,
// fires a shot and removes the oldest one, and changes player and room fields.
func (g *rich) Step(w *game.World) {
	t := int64(w.Tick())
	ents := w.Entities()
	for i := range ents {
		e := &ents[i]
		if e.Kind() != g.unit {
			continue
		}
		if g.moveAll || i%4 == int(t%4) {
			x, y, z := e.Pos3(g.pos)
			e.SetPos3(g.pos, x+w.Rand().Int64N(161)-80, y+w.Rand().Int64N(161)-80, z-int64(i))
			e.SetPos3(g.vel, w.Rand().Int64N(500), -w.Rand().Int64N(500), 3)
			e.SetAngle(g.yaw, uint32(t*7+int64(i)))
		}
		if (t+int64(i))%5 == 0 {
			e.SetInt(g.hp, e.Int(g.hp)-1)
			e.SetBool(g.shield, !e.Bool(g.shield))
			e.SetFixed(g.heat, t*3)
			e.SetEnum(g.state, int(t%4))
		}
		if (t+int64(i))%17 == 0 {
			e.SetText(g.label, "unit "+string(rune('a'+t%26)))
		}
	}
	if t%3 == 0 {
		w.Spawn(g.shot).SetPos3(g.shotPos, t, -t, t*t)
	}
	if t%4 == 0 {
		for i := range ents {
			if ents[i].Kind() == g.shot {
				w.Remove(ents[i].ID())
				break
			}
		}
	}
	for _, p := range w.Players() {
		if (t+int64(p.ID))%6 == 0 {
			p.SetInt(g.pkills, p.Int(g.pkills)+1)
			p.SetBool(g.ready, !p.Bool(g.ready))
		}
		if (t+int64(p.ID))%25 == 0 {
			p.SetText(g.title, "veteran")
		}
	}
	w.SetFixed(g.timer, 600-t)
	if t%50 == 0 {
		w.SetInt(g.round, w.Int(g.round)+1)
	}
}

// Every field type, in both kinds, through creates, removes and every kind
// of change, decodes on a generic client to exactly the server's state.
func TestEncodeDeltaRichSchemaRoundTrip(t *testing.T) {
	for _, moveAll := range []bool{true, false} {
		g := newRich(20)
		g.moveAll = moveAll
		sim := newSim(g, game.Rules{}, 3)
		c := newCodec(g.schema)
		var prev, cur roomState
		for tick := uint64(1); tick <= 120; tick++ {
			switch tick {
			case 5, 9, 40:
				if _, err := sim.AddPlayer("p"); err != nil {
					t.Fatal(err)
				}
			case 60:
				sim.RemovePlayer(2)
			}
			sim.Advance(tick, nil)
			prev, cur = cur, prev
			cur.capture(sim)
			if tick > 1 {
				mirrorRoundTrip(t, c, &prev, &cur)
			}
		}
	}
}

// richStates returns two consecutive states of the 16-field 3D game with 64
// units that all move.
func richStates(tb testing.TB) (*codec, *roomState, *roomState) {
	g := newRich(48)
	sim := newSim(g, game.Rules{}, 1)
	for range 16 {
		if _, err := sim.AddPlayer("p"); err != nil {
			tb.Fatal(err)
		}
	}
	var a, b roomState
	sim.Advance(99, nil)
	a.capture(sim)
	sim.Advance(100, nil)
	b.capture(sim)
	return newCodec(g.schema), &a, &b
}

// BenchmarkEncodeDelta encodes one arena delta for 64 moving entities: the
// per-room, per-tick hot path.
func BenchmarkEncodeDelta(b *testing.B) {
	c, s0, s1 := arenaStates(b)
	e := newEncoder(c)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(e.encodeDelta(s0, s1))
	}
	b.ReportMetric(float64(n), "bytes/frame")
}

// BenchmarkEncodeDelta16Fields3D encodes one delta of a schema with 16 fields
// per entity and 3D positions, for 64 moving entities.
func BenchmarkEncodeDelta16Fields3D(b *testing.B) {
	c, s0, s1 := richStates(b)
	e := newEncoder(c)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(e.encodeDelta(s0, s1))
	}
	b.ReportMetric(float64(n), "bytes/frame")
}

// TestFrameRecorderEncodesWhatClientsDecode: the recorder's delta of two
// recorded arena ticks is the delta the room's encoder writes, and its
// deflated form inflates back to it.
func TestFrameRecorderEncodesWhatClientsDecode(t *testing.T) {
	g := arena.New(arena.Config{})
	sim := newSim(g, game.Rules{}, 1)
	for range 4 {
		if _, err := sim.AddPlayer("p"); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := NewFrameRecorder(g.Schema())
	if err != nil {
		t.Fatal(err)
	}
	var a, b roomState
	for tick := uint64(1); tick <= 3; tick++ {
		sim.Advance(tick, nil)
		rec.Record(sim)
		a, b = b, a
		b.capture(sim)
	}
	want := append([]byte(nil), newEncoder(newCodec(g.Schema())).encodeDelta(&a, &b)...)
	got := append([]byte(nil), rec.Delta(2)...)
	if !bytes.Equal(got, want) {
		t.Fatalf("recorder's delta %x, room encoder's %x", got, want)
	}
	z := rec.Deflate(got, 1)
	if len(z) >= len(got) {
		t.Fatalf("deflated %d bytes of %d: the arena's delta should shrink", len(z), len(got))
	}
	plain, err := wsframe.Inflate(nil, z, 1<<20)
	if err != nil || !bytes.Equal(plain, got) {
		t.Fatalf("inflate: %v; equal %v", err, bytes.Equal(plain, got))
	}
	bad := game.NewSchema()
	k := bad.Kind("tank")
	k.Int("hp")
	k.Bool("hp")
	if _, err := NewFrameRecorder(bad); err == nil || !errors.Is(err, game.ErrSchema) {
		t.Errorf("a field declared twice: %v, want a schema error", err)
	}
}
