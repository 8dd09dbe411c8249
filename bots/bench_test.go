package bots

import (
	"testing"
	"time"

	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// benchFrames returns the reference room at tick 1 (64 entities, 16 players)
// and two encoded deltas: every entity steps one way (tick 2) and back (tick
// 3), with every player's input acknowledged, so the mirror can be wound back
// to tick 1 and the same bytes applied again.
func benchFrames(b testing.TB) (State, [2][]byte) {
	s := State{Tick: 1, Phase: running, Room: room(0)}
	for i := range 64 {
		if i < 16 {
			s.Players = append(s.Players, player(uint32(i+1), "bot", uint32(i+1), int64(i), 0))
			s.Entities = append(s.Entities, av(uint32(i+1), int64(i*250), int64(i*200), 0, "bot"))
			continue
		}
		s.Entities = append(s.Entities, orb(uint32(i+1), int64(i*250), int64(i*200)))
	}
	moved := s
	moved.Tick = 2
	moved.Entities = nil
	for i, e := range s.Entities {
		e.Record = e.clone()
		e.Values[0] += int64(80 - i%3*80)
		e.Values[1] += int64(-56 + i%2*112)
		moved.Entities = append(moved.Entities, e)
	}
	var acks, seqs []uint32
	for i := range 16 {
		acks, seqs = append(acks, uint32(i+1)), append(seqs, 100)
	}
	back := s
	back.Tick = 3
	var frames [2][]byte
	for i, d := range []*tickwirev1.Delta{deltaOf(s, moved), deltaOf(moved, back)} {
		d.AckPlayers, d.AckSeqs = acks, seqs
		var err error
		if frames[i], err = proto.Marshal(&tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_Delta{Delta: d}}); err != nil {
			b.Fatal(err)
		}
	}
	return s, frames
}

// BenchmarkApplyDelta measures a bot's per-tick hot path on the reference
// room (64 entities, all moving): decoding one delta frame and applying it,
// checksum included. "mirror" is the decode and Mirror.ApplyDelta alone;
// "client" is the whole frame handler of a Client in a Runner, live meter
// included.
func BenchmarkApplyDelta(b *testing.B) {
	state, frames := benchFrames(b)
	b.Run("mirror", func(b *testing.B) {
		var m Mirror
		m.SetSchema(testSchema)
		m.SetSelf(1, 1)
		if err := m.ApplySnapshot(snapshotOf(state)); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(frames[0])))
		for i := 0; b.Loop(); i++ {
			var f tickwirev1.ServerFrame
			if err := proto.Unmarshal(frames[i%2], &f); err != nil {
				b.Fatal(err)
			}
			if err := m.ApplyDelta(f.GetDelta()); err != nil {
				b.Fatal(err)
			}
			if i%2 == 1 {
				m.tick = 1
			}
		}
	})
	b.Run("client", func(b *testing.B) {
		c, err := newClient(Config{URL: "ws://127.0.0.1:1", RoomID: "r", Name: "n", meter: newMeter()})
		if err != nil {
			b.Fatal(err)
		}
		c.writer = &fakeConn{}
		welcome, _ := proto.Marshal(&tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_Welcome{Welcome: &tickwirev1.Welcome{
			PlayerId: 1, EntityId: 1, TickRate: 20, Tick0UnixUs: time.Now().UnixMicro(), Snapshot: snapshotOf(state),
			Schema: testWireSchema(),
		}}})
		c.handleMessage(gws.OpcodeBinary, welcome, time.Now())
		b.ReportAllocs()
		b.SetBytes(int64(len(frames[0])))
		for i := 0; b.Loop(); i++ {
			c.handleMessage(gws.OpcodeBinary, frames[i%2], time.Now())
			if i%2 == 1 {
				c.mu.Lock()
				c.mirror.tick, c.lastUpdateTick = 1, 1
				c.mu.Unlock()
			}
		}
		if s := c.Stats(); s.Desyncs != 0 || s.BadFrames != 0 {
			b.Fatalf("desyncs %d bad frames %d", s.Desyncs, s.BadFrames)
		}
	})
}
