package netcode

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// TestAppendDeltaFrameMatchesMarshal checks the hand-written delta encoding
// byte for byte against proto.Marshal, over random deltas that set, leave
// empty or leave out every field.
func TestAppendDeltaFrameMatchesMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var w deltaWire
	var buf []byte
	for i := range 5000 {
		d := randomDelta(r)
		want, err := proto.Marshal(&pb.ServerFrame{Body: &pb.ServerFrame_Delta{Delta: d}})
		if err != nil {
			t.Fatal(err)
		}
		var ok bool
		buf, ok = w.appendDeltaFrame(buf[:0], d)
		if !ok {
			t.Fatalf("delta %d: not handled", i)
		}
		if !bytes.Equal(buf, want) {
			t.Fatalf("delta %d: %+v\nhand  %x\nproto %x", i, d, buf, want)
		}
	}
}

func TestAppendDeltaFrameLeavesRareDeltasToProto(t *testing.T) {
	var w deltaWire
	for name, d := range map[string]*pb.Delta{
		"players joined": {Tick: 2, PlayersJoined: []*pb.Player{{Id: 1, Name: "ann"}}},
		"invalid UTF-8":  {Tick: 2, Room: &pb.FieldValues{Mask: 1, Texts: []string{"\xff"}}},
	} {
		if b, ok := w.appendDeltaFrame([]byte("x"), d); ok || string(b) != "x" {
			t.Errorf("%s: handled (%x), want it left to proto untouched", name, b)
		}
	}
}

func randomDelta(r *rand.Rand) *pb.Delta {
	d := &pb.Delta{
		Tick:         randomU64(r),
		BaseTick:     randomU64(r),
		Removed:      randomU32s(r),
		PlayersLeft:  randomU32s(r),
		ScorePlayers: randomU32s(r),
		AckPlayers:   randomU32s(r),
		AckSeqs:      randomU32s(r),
		Phase:        pb.MatchPhase(r.IntN(4)),
		EndTick:      randomU64(r),
	}
	if r.IntN(3) > 0 {
		d.Checksum = r.Uint32()
	}
	for range r.IntN(4) {
		d.Scores = append(d.Scores, int64(randomU64(r)))
	}
	if r.IntN(3) > 0 {
		d.Updates = randomUpdates(r)
	}
	if r.IntN(3) > 0 {
		d.PlayerUpdates = randomUpdates(r)
	}
	if r.IntN(3) > 0 {
		d.Created = &pb.EntityColumns{Ids: randomU32s(r), Kinds: randomU32s(r), Values: randomU64s(r), Texts: randomTexts(r)}
	}
	if r.IntN(3) > 0 {
		d.Room = &pb.FieldValues{Mask: randomU64(r), Values: randomU64s(r), Texts: randomTexts(r)}
	}
	return d
}

func randomUpdates(r *rand.Rand) *pb.EntityUpdates {
	return &pb.EntityUpdates{IdGaps: randomU32s(r), All: r.IntN(2) == 0, Masks: randomU64s(r), Values: randomU64s(r), Texts: randomTexts(r)}
}

// randomU64 is 0 a third of the time, and otherwise of any varint length.
func randomU64(r *rand.Rand) uint64 {
	switch r.IntN(4) {
	case 0:
		return 0
	case 1:
		return math.MaxUint64
	}
	return r.Uint64() >> r.IntN(64)
}

func randomU64s(r *rand.Rand) []uint64 {
	var vs []uint64
	for range r.IntN(5) {
		vs = append(vs, randomU64(r))
	}
	return vs
}

func randomU32s(r *rand.Rand) []uint32 {
	var vs []uint32
	for range r.IntN(5) {
		vs = append(vs, uint32(randomU64(r)))
	}
	return vs
}

func randomTexts(r *rand.Rand) []string {
	words := []string{"", "a", "héllo", "坦克", string(make([]byte, 200))}
	var ts []string
	for range r.IntN(3) {
		ts = append(ts, words[r.IntN(len(words))])
	}
	return ts
}
