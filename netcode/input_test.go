package netcode

import (
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

func TestDecodeInputMatchesProto(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		want := &pb.Input{Seq: r.Uint32(), Dx: int32(r.Uint32()), Dy: int32(r.IntN(3) - 1), Buttons: r.Uint32() >> r.IntN(32)}
		b, err := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Input{Input: want}})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := decodeInput(b)
		if !ok || got.Seq != want.Seq || got.DX != want.Dx || got.DY != want.Dy || got.Buttons != want.Buttons {
			t.Fatalf("decodeInput(%x) = %+v, %v; want %v", b, got, ok, want)
		}
	}
}

func TestDecodeInputDefersToProto(t *testing.T) {
	join, _ := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 1}}})
	input, _ := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Input{Input: &pb.Input{Seq: 5}}})
	for name, b := range map[string][]byte{
		"empty":          {},
		"join":           join,
		"truncated":      input[:len(input)-1],
		"trailing bytes": append(append([]byte(nil), input...), 0x08, 0x01),
		"garbage":        {0xff, 0xff, 0xff},
	} {
		if _, ok := decodeInput(b); ok {
			t.Errorf("%s: decoded as an input", name)
		}
	}
}

func BenchmarkDecodeInput(b *testing.B) {
	buf, _ := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Input{Input: &pb.Input{Seq: 1234, Dx: -1, Dy: 1}}})
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := decodeInput(buf); !ok {
			b.Fatal("not decoded")
		}
	}
}
