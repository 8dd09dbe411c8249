package netcode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
	"github.com/tickwire/tickwire/internal/wsframe"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

func clientFrame(tb testing.TB, f *pb.ClientFrame) []byte {
	b, err := proto.Marshal(f)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func addClientFrameSeeds(f *testing.F) {
	for _, cf := range []*pb.ClientFrame{
		{Body: &pb.ClientFrame_Input{Input: &pb.Input{Seq: 1234, Values: []uint64{1, 2}}}},
		{Body: &pb.ClientFrame_Input{Input: &pb.Input{Seq: ^uint32(0), Values: []uint64{^uint64(0), 1 << 63}}}},
		{Body: &pb.ClientFrame_Input{Input: &pb.Input{Seq: 1, Values: []uint64{1, 2, 3}}}}, // one value too many
		{Body: &pb.ClientFrame_Input{Input: &pb.Input{}}},
		{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: "r1", Name: "ann"}}},
		{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: "r1", Ticket: "tw1.x.y"}}},
		{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 9, RoomId: "r1"}}},
		{Body: &pb.ClientFrame_Ping{Ping: &pb.Ping{ClientTimeUs: 1 << 50}}},
		{Body: &pb.ClientFrame_Leave{Leave: &pb.Leave{}}},
		{Body: &pb.ClientFrame_Resync{Resync: &pb.ResyncRequest{}}},
		{Body: &pb.ClientFrame_Message{Message: &pb.GameMessage{Op: 1, Data: []byte("hi")}}},
		{},
	} {
		f.Add(clientFrame(f, cf))
	}
	f.Add([]byte{0x12, 0x02, 0x08, 0x01, 0x12, 0x02, 0x08, 0x02})                               // two inputs: proto merges them
	f.Add([]byte{0x12, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}) // 64-bit seq
	f.Add([]byte{0x12, 0x03, 0x08, 0x81, 0x00})                                                 // overlong varint
	f.Add([]byte{0x12, 0x02, 0x20, 0x01})                                                       // unknown field
	f.Add([]byte{0x12, 0x06, 0x08, 0x01, 0x28, 0x01, 0x28, 0x02})                               // values not packed
	f.Add([]byte{0xff, 0xff, 0xff})
}

// FuzzDecodeInput checks the allocation-free input decoder against
// proto.Unmarshal: whatever it accepts, proto decodes to the same input, and
// the plain encoding of every input proto reads, it accepts.
func FuzzDecodeInput(f *testing.F) {
	addClientFrameSeeds(f)
	sh := &newCodec(arena.Fields().Schema).input
	f.Fuzz(func(t *testing.T, b []byte) {
		in, ok := decodeInput(b, sh)
		var cf pb.ClientFrame
		err := proto.Unmarshal(b, &cf)
		var slow game.Input
		var serr error
		if err == nil && cf.GetInput() != nil {
			slow, serr = sh.inputFromWire(cf.GetInput())
		}
		if ok {
			pin := cf.GetInput()
			if err != nil || pin == nil || serr != nil {
				t.Fatalf("decodeInput(%x) = %+v, but proto reads %v, %v, %v", b, in, &cf, err, serr)
			}
			if in != slow {
				t.Fatalf("decodeInput(%x) = %+v, proto reads %+v", b, in, slow)
			}
			return
		}
		if err != nil || cf.GetInput() == nil || serr != nil {
			return
		}
		// proto reads an input the fast path declined (unknown fields, a body
		// given twice): its canonical encoding must take the fast path.
		pin := cf.GetInput()
		canon := clientFrame(t, &pb.ClientFrame{Body: &pb.ClientFrame_Input{Input: &pb.Input{Seq: pin.Seq, Values: pin.Values}}})
		got, ok := decodeInput(canon, sh)
		if !ok || got != slow {
			t.Fatalf("decodeInput(%x) = %+v, %v; want %+v", canon, got, ok, slow)
		}
	})
}

// recordConn is a net.Conn that keeps what is written to it.
type recordConn struct {
	mu     sync.Mutex
	out    bytes.Buffer
	closed bool
}

func (c *recordConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.out.Write(b)
}

func (c *recordConn) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out.Bytes())
}

func (c *recordConn) Read([]byte) (int, error) { return 0, errors.New("recordConn: no reads") }
func (c *recordConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return nil
}
func (c *recordConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *recordConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *recordConn) SetDeadline(time.Time) error      { return nil }
func (c *recordConn) SetReadDeadline(time.Time) error  { return nil }
func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }

// wsFrame is one frame the server wrote.
type wsFrame struct {
	op      byte
	payload []byte
}

// parseServerFrames splits what the server wrote into frames, failing on
// anything that is not a well-formed final, unmasked, uncompressed frame.
func parseServerFrames(t *testing.T, b []byte) []wsFrame {
	t.Helper()
	var out []wsFrame
	for len(b) > 0 {
		h, n, err := wsframe.ParseHeader(b)
		if err != nil || !h.Fin || h.RSV != 0 || h.Masked {
			t.Fatalf("bad frame header in %x", b)
		}
		if uint64(len(b)-n) < h.Length {
			t.Fatalf("frame of %d bytes cut short: %x", h.Length, b)
		}
		out = append(out, wsFrame{op: h.Op, payload: b[n : n+int(h.Length)]})
		b = b[n+int(h.Length):]
	}
	return out
}

// dispatchOnce hands b to a fresh session's dispatch and returns the frames
// the server wrote to it in answer.
func dispatchOnce(t *testing.T, srv *Server, b []byte) ([]wsFrame, *session) {
	t.Helper()
	conn := &recordConn{}
	sess := newSession(srv.env, conn, false)
	srv.dispatch(sess, b)
	for start := time.Now(); !sess.drained(); {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("session did not drain after %x", b)
		}
		time.Sleep(50 * time.Microsecond)
	}
	return parseServerFrames(t, conn.bytes()), sess
}

// FuzzDispatch sends arbitrary bytes through the server's handling of a
// client frame, on a session that has not joined, and checks the answer the
// protocol promises: nothing for an input, a Pong for a Ping, a normal close
// for a Leave, and otherwise an Error frame of the right code, with a message,
// followed by a close with the matching 4xxx code.
func FuzzDispatch(f *testing.F) {
	srv, err := NewServer(withArena(Config{}))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Shutdown(f.Context()) })
	addClientFrameSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, _ := dispatchOnce(t, srv, b)
		var cf pb.ClientFrame
		perr := proto.Unmarshal(b, &cf)
		_, fast := decodeInput(b, &newCodec(arena.Fields().Schema).input)
		var want pb.ErrorCode    // the Error frame expected, if any
		var anyOf []pb.ErrorCode // or one of these
		switch {
		case fast:
		case perr != nil:
			want = pb.ErrorCode_ERROR_CODE_BAD_FRAME
		case cf.GetInput() != nil, cf.GetMessage() != nil, cf.GetChat() != nil: // ignored before the join
		case cf.GetPing() != nil:
			var sf pb.ServerFrame
			if len(frames) != 1 || frames[0].op != opBinary || proto.Unmarshal(frames[0].payload, &sf) != nil ||
				sf.GetPong().GetClientTimeUs() != cf.GetPing().GetClientTimeUs() {
				t.Fatalf("ping %x: answered %v, want a Pong echoing %d", b, frames, cf.GetPing().GetClientTimeUs())
			}
			return
		case cf.GetLeave() != nil:
			if len(frames) != 1 || frames[0].op != opClose || binary.BigEndian.Uint16(frames[0].payload) != closeNormal {
				t.Fatalf("leave %x: answered %v, want a normal close", b, frames)
			}
			return
		case cf.GetJoin() != nil:
			want, anyOf = joinRefusal(cf.GetJoin())
		default: // no body, or resync before join
			want = pb.ErrorCode_ERROR_CODE_BAD_FRAME
		}
		if want == pb.ErrorCode_ERROR_CODE_UNSPECIFIED && anyOf == nil {
			if len(frames) != 0 {
				t.Fatalf("input %x: answered %v, want nothing", b, frames)
			}
			return
		}
		if len(frames) != 2 || frames[0].op != opBinary || frames[1].op != opClose || len(frames[1].payload) < 2 {
			t.Fatalf("%x: answered %v, want an Error frame and a close", b, frames)
		}
		var sf pb.ServerFrame
		if err := proto.Unmarshal(frames[0].payload, &sf); err != nil || sf.GetError() == nil {
			t.Fatalf("%x: first answer %x is not an Error frame: %v", b, frames[0].payload, err)
		}
		e := sf.GetError()
		if anyOf != nil && slices.Contains(anyOf, e.Code) {
			want = e.Code
		}
		if e.Code != want || e.Message == "" || !utf8.ValidString(e.Message) {
			t.Fatalf("%x: Error %v %q, want code %v%v and a message", b, e.Code, e.Message, want, anyOf)
		}
		if code := binary.BigEndian.Uint16(frames[1].payload); code != CloseCode(want) {
			t.Fatalf("%x: close code %d after Error %v, want %d", b, code, e.Code, CloseCode(want))
		}
	})
}

// joinRefusal is the Error a server without open rooms or a ticket check
// answers j with, or (when more than one can be right) the codes it may use.
func joinRefusal(j *pb.Join) (pb.ErrorCode, []pb.ErrorCode) {
	switch {
	case j.ProtocolVersion != uint32(pb.ProtocolVersion_PROTOCOL_VERSION_2):
		return pb.ErrorCode_ERROR_CODE_UNSUPPORTED_VERSION, nil
	case !validRoomID(j.RoomId):
		return pb.ErrorCode_ERROR_CODE_BAD_FRAME, nil
	case j.ResumeToken != "" && j.Spectate:
		return pb.ErrorCode_ERROR_CODE_BAD_FRAME, nil // a spectator has no seat
	case j.ResumeToken != "":
		// A rejoin into a room this server does not have: the seat is gone.
		return pb.ErrorCode_ERROR_CODE_RESUME_EXPIRED, nil
	}
	// A bad name, a ticket this server cannot check, or a room it does not
	// have: which one is reported first is the server's choice.
	return 0, []pb.ErrorCode{pb.ErrorCode_ERROR_CODE_BAD_FRAME, pb.ErrorCode_ERROR_CODE_UNAUTHORIZED, pb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND}
}
