package netcode

import (
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// inputSchema has an input of every type an input may carry.
func inputSchema() (*game.Schema, *shape) {
	s := game.NewSchema()
	s.Input.Int("dx")
	s.Input.Fixed("throttle", 100)
	s.Input.Angle("aim", 10)
	s.Input.Bool("fire")
	s.Input.Enum("weapon", "gun", "rocket", "mine")
	s.Input.Pos3("target", 16)
	return s, &newCodec(s).input
}

func TestDecodeInputMatchesProto(t *testing.T) {
	_, sh := inputSchema()
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		dx, thr := int64(r.Uint64()), r.Int64N(201)-100
		aim, fire, weapon := r.Uint64N(1024), r.Uint64N(2), r.Uint64N(3)
		tx, ty, tz := r.Int64N(1<<40)-1<<39, int64(r.IntN(3)-1), int64(r.Uint32())
		want := &pb.Input{Seq: r.Uint32(), Values: []uint64{
			protowire.EncodeZigZag(dx), protowire.EncodeZigZag(thr), aim, fire, weapon,
			protowire.EncodeZigZag(tx), protowire.EncodeZigZag(ty), protowire.EncodeZigZag(tz),
		}}
		want.Values = want.Values[:r.IntN(len(want.Values)+1)] // missing trailing values are zero
		b, err := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Input{Input: want}})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := decodeInput(b, sh)
		slow, err := sh.inputFromWire(want)
		if !ok || err != nil || got != slow || got.Seq != want.Seq {
			t.Fatalf("decodeInput(%x) = %+v, %v; the slow path %+v, %v", b, got, ok, slow, err)
		}
		all := [8]int64{dx, thr, int64(aim), int64(fire), int64(weapon), tx, ty, tz}
		for i := range want.Values {
			if got.Slot[i] != all[i] {
				t.Fatalf("value %d = %d, want %d", i, got.Slot[i], all[i])
			}
		}
	}
}

// An input value out of its field's range, or one value too many, is refused
// with a message that names the field.
func TestDecodeInputRefusesOutOfRange(t *testing.T) {
	_, sh := inputSchema()
	for _, tc := range []struct {
		values []uint64
		want   string
	}{
		{[]uint64{0, 0, 1024}, "input field aim: value 1024 out of range [0, 1024)"},
		{[]uint64{0, 0, 0, 2}, "input field fire: value 2 out of range [0, 2)"},
		{[]uint64{0, 0, 0, 0, 3}, "input field weapon: value 3 out of range [0, 3)"},
		{make([]uint64, 9), "input has 9 values; the schema declares 8"},
	} {
		in := &pb.Input{Seq: 1, Values: tc.values}
		b, _ := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Input{Input: in}})
		if _, ok := decodeInput(b, sh); ok {
			t.Errorf("%v: decoded on the fast path", tc.values)
		}
		if _, err := sh.inputFromWire(in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.values, err, tc.want)
		}
	}
}

func TestDecodeInputDefersToProto(t *testing.T) {
	sh := &newCodec(arena.Fields().Schema).input
	join, _ := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2}}})
	input, _ := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Input{Input: &pb.Input{Seq: 5, Values: []uint64{1, 2}}}})
	for name, b := range map[string][]byte{
		"empty":          {},
		"join":           join,
		"truncated":      input[:len(input)-1],
		"trailing bytes": append(append([]byte(nil), input...), 0x08, 0x01),
		"garbage":        {0xff, 0xff, 0xff},
	} {
		if _, ok := decodeInput(b, sh); ok {
			t.Errorf("%s: decoded as an input", name)
		}
	}
}

// BenchmarkDecodeInput decodes the arena's input: the per-input hot path.
func BenchmarkDecodeInput(b *testing.B) {
	sh := &newCodec(arena.Fields().Schema).input
	buf, _ := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Input{Input: &pb.Input{Seq: 1234, Values: []uint64{1, 2}}}})
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := decodeInput(buf, sh); !ok {
			b.Fatal("not decoded")
		}
	}
}
