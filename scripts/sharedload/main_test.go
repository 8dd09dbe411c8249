package main

import (
	"net"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/internal/wsframe"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// TestFramesDecodeAsTheProtocol checks the hand-built protocol 2 frames
// against the .proto's generated types, unmasked as a server would.
func TestFramesDecodeAsTheProtocol(t *testing.T) {
	var join pb.ClientFrame
	if err := proto.Unmarshal(unmask(t, clientFrame(joinBody(2, "room-1", "load7"))), &join); err != nil {
		t.Fatal(err)
	}
	if j := join.GetJoin(); j.GetProtocolVersion() != 2 || j.GetRoomId() != "room-1" || j.GetName() != "load7" {
		t.Fatalf("join = %v", &join)
	}
	var in pb.ClientFrame
	if err := proto.Unmarshal(unmask(t, clientFrame(inputBody(2, 9, -1, 1))), &in); err != nil {
		t.Fatal(err)
	}
	// The arena's dx and dy are signed INTs: zigzag, -1 is 1 and 1 is 2.
	if i := in.GetInput(); i.GetSeq() != 9 || len(i.GetValues()) != 2 || i.GetValues()[0] != 1 || i.GetValues()[1] != 2 {
		t.Fatalf("input = %v", &in)
	}
}

func unmask(t *testing.T, frame []byte) []byte {
	t.Helper()
	h, n, err := wsframe.ParseHeader(frame)
	if err != nil || !h.Masked || !h.Fin || h.Op != wsframe.OpBinary || int(h.Length) != len(frame)-n {
		t.Fatalf("frame header %+v, %v", h, err)
	}
	p := append([]byte(nil), frame[n:]...)
	wsframe.Mask(p, h.Key, 0)
	return p
}

// TestReadCountsMessagesAcrossReads feeds read frames split at every byte
// boundary: it must count whole data messages only, not control frames or
// fragments, and stop at a close.
func TestReadCountsMessagesAcrossReads(t *testing.T) {
	var stream []byte
	plain := wsframe.Header{Fin: true, Op: wsframe.OpBinary}
	for i := range 5 {
		stream = wsframe.AppendFrame(stream, plain, make([]byte, 100*i))
	}
	stream = wsframe.AppendFrame(stream, wsframe.Header{Fin: true, Op: wsframe.OpPing}, []byte("p"))
	stream = wsframe.AppendFrame(stream, wsframe.Header{Op: wsframe.OpBinary}, make([]byte, 300))          // first fragment
	stream = wsframe.AppendFrame(stream, wsframe.Header{Fin: true, Op: wsframe.OpContinuation}, []byte{1}) // last: one message
	stream = wsframe.AppendFrame(stream, plain, make([]byte, 70000))                                       // 64-bit length
	stream = wsframe.AppendFrame(stream, wsframe.Header{Fin: true, Op: wsframe.OpClose}, []byte{3, 232})

	a, b := net.Pipe()
	defer a.Close()
	cl := &client{conn: b}
	var cnt counters
	done := make(chan struct{})
	go func() {
		defer close(done)
		read(cl, stream[:3], &cnt, make(chan struct{}))
	}()
	for i := 3; i < len(stream); i += 7 {
		if _, err := a.Write(stream[i:min(i+7, len(stream))]); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("read did not stop at the close frame")
	}
	if got := cnt.messages.Load(); got != 7 {
		t.Errorf("messages = %d, want 7 (5 plain, 1 fragmented, 1 large)", got)
	}
	if cnt.failed.Load() != 1 {
		t.Errorf("failed = %d, want 1: the close came before the run ended", cnt.failed.Load())
	}
	if !cl.welcome.Load() {
		t.Error("a message arrived but the client is not welcomed")
	}
}
