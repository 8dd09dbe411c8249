package netcode

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// TestInputShareOverTheSocket has one player of a duel send 17 inputs within
// a tick, and then the other send one: the other's input is still applied
// (acknowledged in a delta), and only the first player's excess is dropped.
func TestInputShareOverTheSocket(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true, TickRate: 1, Rules: gameRules(2)})
	a, _ := joinRaw(t, base, openJoin("duel"))
	b, wb := joinRaw(t, base, openJoin("duel"))
	in := srv.Stats().FramesIn
	var burst []byte
	for i := range 17 {
		f, _ := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Input{Input: &pb.Input{Seq: uint32(i + 1), Values: []uint64{2}}}})
		burst = appendClientFrame(burst, opBinary, f)
	}
	if _, err := a.Write(burst); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the burst read", func() bool { return srv.Stats().FramesIn >= in+17 })
	b.writeFrame(t, &pb.ClientFrame{Body: &pb.ClientFrame_Input{Input: &pb.Input{Seq: 1, Values: []uint64{0, 2}}}})
	_ = b.SetReadDeadline(time.Now().Add(20 * time.Second))
	for deltas := 0; ; {
		op, p, err := b.readFrame()
		if err != nil {
			t.Fatalf("no ack of player 2's input: %v", err)
		}
		var f pb.ServerFrame
		if op != opBinary || proto.Unmarshal(p, &f) != nil || f.GetDelta() == nil {
			continue
		}
		d := f.GetDelta()
		if i := slices.Index(d.AckPlayers, wb.PlayerId); i >= 0 && d.AckSeqs[i] == 1 {
			break
		}
		if deltas++; deltas > 3 {
			t.Fatalf("player 2's input not acknowledged in %d deltas (inputs dropped: %d)", deltas, srv.Stats().InputsDropped)
		}
	}
	if st := srv.Stats(); st.InputsDropped > 17-8 {
		t.Fatalf("%d inputs dropped; want at most player 1's 9 over its share", st.InputsDropped)
	}
}
