package netcode

import (
	"testing"

	"github.com/tickwire/tickwire/game"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
	"google.golang.org/protobuf/proto"
)

// arenaStates runs the reference arena (16 players, 48 orbs) and returns the
// states at two consecutive ticks.
func arenaStates(tb testing.TB) (*roomState, *roomState) {
	sim := game.NewSim(game.NewArena(game.ArenaConfig{}), game.Rules{}, 1)
	for i := range 16 {
		p, err := sim.AddPlayer("p")
		if err != nil {
			tb.Fatal(err)
		}
		sim.Advance(uint64(i+1), []game.PlayerInput{{Player: p.ID, Input: game.Input{Seq: 1, DX: int32(i%3) - 1, DY: 1}}})
	}
	var a, b roomState
	a.capture(sim)
	sim.Advance(100, nil)
	b.capture(sim)
	return &a, &b
}

func TestEncodeDeltaArena(t *testing.T) {
	a, b := arenaStates(t)
	buf := newEncoder().encodeDelta(a, b)
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
	if len(d.Removed) != 0 || d.Created != nil || len(d.PlayersJoined) != 0 {
		t.Fatal("nothing was created or removed, yet the delta says so")
	}
	t.Logf("arena delta: %d bytes for %d entities", len(buf), len(b.entities))
}

func TestEncodeDeltaIdleRoomIsTiny(t *testing.T) {
	sim := game.NewSim(game.NewArena(game.ArenaConfig{NPCs: -1}), game.Rules{}, 1)
	if _, err := sim.AddPlayer("still"); err != nil {
		t.Fatal(err)
	}
	var a, b roomState
	sim.Advance(1000, nil)
	a.capture(sim)
	sim.Advance(1001, nil)
	b.capture(sim)
	buf := newEncoder().encodeDelta(&a, &b)
	if len(buf) > 20 {
		t.Fatalf("idle delta is %d bytes, want at most 20", len(buf))
	}
}

// BenchmarkEncodeDelta encodes one arena delta for 64 moving entities: the
// per-room, per-tick hot path.
func BenchmarkEncodeDelta(b *testing.B) {
	s0, s1 := arenaStates(b)
	e := newEncoder()
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(e.encodeDelta(s0, s1))
	}
	b.ReportMetric(float64(n), "bytes/frame")
}
