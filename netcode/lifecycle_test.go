package netcode

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/internal/clock"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// joinRaw connects a raw client to room and reads up to its Welcome.
func joinRaw(t *testing.T, base string, j *pb.Join) (*rawWS, *pb.Welcome) {
	t.Helper()
	c := dialRawWS(t, base)
	c.writeFrame(t, &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: j}})
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		op, p, err := c.readFrame()
		if err != nil {
			t.Fatalf("no welcome: %v", err)
		}
		var f pb.ServerFrame
		if op != opBinary || proto.Unmarshal(p, &f) != nil {
			continue
		}
		if e := f.GetError(); e != nil {
			t.Fatalf("join refused: %v", e)
		}
		if w := f.GetWelcome(); w != nil {
			_ = c.SetReadDeadline(time.Time{})
			return c, w
		}
	}
}

func openJoin(room string) *pb.Join { return &pb.Join{ProtocolVersion: 2, RoomId: room, Name: "t"} }

// closeFrame is a client's close frame with code.
func closeFrame(code uint16) []byte { return binary.BigEndian.AppendUint16(nil, code) }

// wantTCPEnd reads what follows a close handshake and fails unless the
// server ends the TCP connection without sending another frame.
func wantTCPEnd(t *testing.T, c *rawWS, what string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	op, p, err := c.readFrame()
	switch {
	case err == nil:
		t.Fatalf("%s: the server sent another frame (opcode %#x, % x) after its close", what, op, p)
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Fatalf("%s: the server kept the TCP connection open", what)
	case !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err):
		t.Fatalf("%s: %v", what, err)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "read"
}

// TestNegativeLengthFrameLeavesNodeServing sends, right after the upgrade,
// a frame whose 64-bit length has its top bit set (the one that read as
// negative and crashed the process before gws v1.10.2), and one of all ff:
// each connection is refused with a protocol error, and the node goes on
// serving a new client.
func TestNegativeLengthFrameLeavesNodeServing(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true})
	for _, length := range []string{"80 00 00 00 00 00 00 00", "ff ff ff ff ff ff ff ff"} {
		c := dialRawWS(t, base)
		frame := []byte{0x82, 0xff}
		if length[0] == '8' {
			frame = append(frame, 0x80, 0, 0, 0, 0, 0, 0, 0)
		} else {
			frame = append(frame, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
		}
		frame = append(frame, maskKey[:]...)
		if _, err := c.Write(frame); err != nil {
			t.Fatal(err)
		}
		if code, _ := c.readUntilClose(t); code != 1002 && code != closeMessageTooLarge {
			t.Fatalf("length %s: close %d, want 1002 or 1009", length, code)
		}
		_ = c.Close()
	}
	other, w := joinRaw(t, base, openJoin("after"))
	if w.PlayerId == 0 {
		t.Fatal("no player id after the bad frames")
	}
	other.writeFrame(t, &pb.ClientFrame{Body: &pb.ClientFrame_Leave{Leave: &pb.Leave{}}})
	if code, _ := other.readUntilClose(t); code != closeNormal {
		t.Fatalf("leave: close %d", code)
	}
	waitUntil(t, "connections closed", func() bool { return srv.Stats().Connections == 0 })
}

// TestPanicClosesOnlyItsConnection has the ticket check (Config.Admit, the
// operator's code) panic on one join: that connection is closed with 1011,
// the panic is counted, and the node serves the next client.
func TestPanicClosesOnlyItsConnection(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true, Admit: func(ticket, room string) (Admission, error) {
		panic("ticket verifier bug")
	}})
	c := dialRawWS(t, base)
	c.writeFrame(t, &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: "r", Ticket: "boom"}}})
	if code, _ := c.readUntilClose(t); code != closeInternalError {
		t.Fatalf("close %d after a panic, want %d", code, closeInternalError)
	}
	wantTCPEnd(t, c, "after the panic") // nothing reads the client's answer any more
	if st := srv.Stats(); st.Panics != 1 {
		t.Fatalf("panics %d, want 1", st.Panics)
	}
	joinRaw(t, base, openJoin("r"))
}

// TestOneCloseFramePerConnection ends connections every way the server
// does, and the client way, and answers each close as a browser does: the
// server sends exactly one close frame, with the code the client must see,
// and then ends the TCP connection.
func TestOneCloseFramePerConnection(t *testing.T) {
	_, base := startServer(t, Config{OpenRooms: true, RejoinGrace: time.Minute})
	leave := &pb.ClientFrame{Body: &pb.ClientFrame_Leave{Leave: &pb.Leave{}}}

	t.Run("leave", func(t *testing.T) {
		c, _ := joinRaw(t, base, openJoin("close-leave"))
		c.writeFrame(t, leave)
		if code, _ := c.readUntilClose(t); code != closeNormal {
			t.Fatalf("close %d after Leave, want 1000", code)
		}
		c.write(t, opClose, closeFrame(closeNormal))
		wantTCPEnd(t, c, "leave")
	})
	t.Run("bad frame", func(t *testing.T) {
		c, _ := joinRaw(t, base, openJoin("close-bad"))
		c.write(t, 0x1, []byte("text"))
		if code, e := c.readUntilClose(t); code != 4001 || e.GetCode() != pb.ErrorCode_ERROR_CODE_BAD_FRAME {
			t.Fatalf("close %d, error %v; want 4001 BAD_FRAME", code, e)
		}
		c.write(t, opClose, closeFrame(4001))
		wantTCPEnd(t, c, "bad frame")
	})
	t.Run("replaced", func(t *testing.T) {
		first, w := joinRaw(t, base, openJoin("close-replaced"))
		second, _ := joinRaw(t, base, &pb.Join{ProtocolVersion: 2, RoomId: "close-replaced", ResumeToken: w.ResumeToken})
		if code, e := first.readUntilClose(t); code != 4015 || e.GetCode() != pb.ErrorCode_ERROR_CODE_REPLACED {
			t.Fatalf("close %d, error %v; want 4015 REPLACED", code, e)
		}
		first.write(t, opClose, closeFrame(4015))
		wantTCPEnd(t, first, "replaced")
		second.writeFrame(t, leave)
	})
	t.Run("client closes first", func(t *testing.T) {
		c, _ := joinRaw(t, base, openJoin("close-client"))
		c.write(t, opClose, closeFrame(closeNormal))
		if code, _ := c.readUntilClose(t); code != closeNormal {
			t.Fatalf("server answered close 1000 with %d", code)
		}
		wantTCPEnd(t, c, "client close")
	})
}

// TestRateLimitedConnectionEnds floods a seated player's connection until it
// is closed with RATE_LIMITED, by a client that never answers the close and
// leaves its flood unread in the server's buffers: the server still ends the
// TCP connection, stops counting it, and holds the seat for a rejoin (the
// player did not leave).
func TestRateLimitedConnectionEnds(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true, ClientRate: 1000, ClientBurst: 1, FloodDrops: 3, FloodWindow: time.Minute, RejoinGrace: time.Minute})
	c, _ := joinRaw(t, base, openJoin("flood-end"))
	var flood []byte
	for range 2000 {
		flood = appendClientFrame(flood, opPing, nil)
	}
	if _, err := c.Write(flood); err != nil {
		t.Fatal(err)
	}
	if code, e := c.readUntilClose(t); code != 4013 || e.GetCode() != pb.ErrorCode_ERROR_CODE_RATE_LIMITED {
		t.Fatalf("close %d, error %v; want 4013 RATE_LIMITED", code, e)
	}
	wantTCPEnd(t, c, "rate limited")
	waitUntil(t, "connection gone and seat held", func() bool {
		st := srv.Stats()
		return st.Connections == 0 && st.SeatsHeld == 1
	})
}

// TestCloseHandshakeRunsOnTheClock drives the server's clock by hand: a
// client that never joins is timed out by the janitor when the clock passes
// HandshakeTimeout, and as it never answers the close, its TCP connection
// ends when the clock passes closeWait, not before.
func TestCloseHandshakeRunsOnTheClock(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	srv, base := startServer(t, Config{OpenRooms: true, Clock: clk, HandshakeTimeout: 5 * time.Second})
	c := dialRawWS(t, base)
	waitUntil(t, "connection counted", func() bool { return srv.Stats().Connections == 1 })
	if !clk.WaitTimers(1, t.Context().Done()) { // the janitor's
		t.Fatal("no janitor timer")
	}
	clk.Advance(6 * time.Second)
	if code, e := c.readUntilClose(t); code != 4006 || e.GetCode() != pb.ErrorCode_ERROR_CODE_HANDSHAKE_TIMEOUT {
		t.Fatalf("close %d, error %v; want 4006 HANDSHAKE_TIMEOUT", code, e)
	}
	// The janitor wrote the close itself (the socket was idle) and set the
	// close wait before it set its own timer again: two timers mean both.
	if !clk.WaitTimers(2, t.Context().Done()) {
		t.Fatal("no close-wait timer")
	}
	if n := srv.Stats().Connections; n != 1 {
		t.Fatalf("%d connections before the close wait passed, want 1", n)
	}
	clk.Advance(closeWait)
	wantTCPEnd(t, c, "close wait")
	waitUntil(t, "connection gone", func() bool { return srv.Stats().Connections == 0 })
}

// panicConn is a socket whose writes panic, as a bug below the session's
// writer would.
type panicConn struct{ recordConn }

func (*panicConn) Write([]byte) (int, error) { panic("write bug") }

// TestWriterPanicEndsOnlyItsConnection has a session's writer goroutine
// panic: the panic is counted and that connection ends (without a frame:
// the writer's state is unknown), and the process goes on.
func TestWriterPanicEndsOnlyItsConnection(t *testing.T) {
	e := testEnv(Config{})
	s := newSession(e, &panicConn{}, false)
	ended := make(chan struct{})
	s.onEnd = func(*session) { close(ended) }
	f := newFrame([]byte("state"), 1)
	s.send(f) // no file descriptor: the writer goroutine writes it
	f.release()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("connection not ended after its writer panicked")
	}
	if n := e.stats.panics.Load(); n != 1 {
		t.Fatalf("panics %d, want 1", n)
	}
}
