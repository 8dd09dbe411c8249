package bots

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/internal/wsframe"
	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// handServer is a game server written by hand over a loopback socket, for
// frames no server library sends: it accepts one connection, does the
// handshake (agreeing to permessage-deflate) and hands the test the socket.
type handServer struct {
	ln    net.Listener
	conns chan net.Conn
	errs  chan error
}

func newHandServer(t *testing.T) *handServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &handServer{ln: ln, conns: make(chan net.Conn, 1), errs: make(chan error, 1)}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			s.errs <- err
			return
		}
		t.Cleanup(func() { _ = conn.Close() })
		req, err := http.ReadRequest(bufio.NewReader(conn))
		if err != nil {
			s.errs <- err
			return
		}
		sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		_, err = fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n\r\n",
			base64.StdEncoding.EncodeToString(sum[:]))
		if err != nil {
			s.errs <- err
			return
		}
		s.conns <- conn
	}()
	return s
}

func (s *handServer) url() string { return "ws://" + s.ln.Addr().String() }

// accept waits for the connection after its handshake.
func (s *handServer) accept(t *testing.T) net.Conn {
	t.Helper()
	select {
	case c := <-s.conns:
		return c
	case err := <-s.errs:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("no connection")
	}
	return nil
}

// clientFrame is one frame a bot sent, unmasked.
type clientFrame struct {
	op      byte
	payload []byte
}

// readClientFrame reads one frame from the bot (the requests are bytes read
// from a bufio.Reader over the socket).
func readClientFrame(br *bufio.Reader) (clientFrame, error) {
	h, n, err := wsframe.PeekHeader(br)
	if err != nil {
		return clientFrame{}, err
	}
	if !h.Masked || !h.Fin {
		return clientFrame{}, fmt.Errorf("frame %+v from a client: want masked and whole", h)
	}
	_, _ = br.Discard(n)
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(br, p); err != nil {
		return clientFrame{}, err
	}
	wsframe.Mask(p, h.Key, 0)
	return clientFrame{h.Op, p}, nil
}

// writeSplit writes b in pieces of at most n bytes, each on its own, so
// that the bot reads frames split across its reads.
func writeSplit(t *testing.T, conn net.Conn, b []byte, n int) {
	t.Helper()
	for len(b) > 0 {
		k := min(n, len(b))
		if _, err := conn.Write(b[:k]); err != nil {
			t.Fatal(err)
		}
		b = b[k:]
		time.Sleep(time.Millisecond) // let the bot read what came so far
	}
}

// TestReaderOverSocket: over a real loopback socket, a bot reads a Welcome
// sent compressed in three fragments and split across reads, answers a ping
// with its payload, applies a delta, detects a delta whose bytes were
// corrupted (its checksum no longer matches) and asks for a snapshot, and
// records the code of the server's close and answers it.
func TestReaderOverSocket(t *testing.T) {
	srv := newHandServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dialed := make(chan *Client, 1)
	dialErr := make(chan error, 1)
	go func() {
		c, err := Dial(ctx, Config{URL: srv.url(), RoomID: "room-1", Name: "bot"})
		if err != nil {
			dialErr <- err
			return
		}
		dialed <- c
	}()
	conn := srv.accept(t)
	br := bufio.NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	join, err := readClientFrame(br)
	if err != nil || join.op != wsframe.OpBinary {
		t.Fatalf("join: %v %+v", err, join)
	}

	state, deltas := benchFrames(t)
	welcome, _ := proto.Marshal(&tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_Welcome{Welcome: &tickwirev1.Welcome{
		PlayerId: 1, EntityId: 1, TickRate: 20, Tick0UnixUs: time.Now().UnixMicro(), Snapshot: snapshotOf(state),
		Schema: testWireSchema(),
	}}})
	z := wsframe.Deflate(nil, welcome, flate.BestSpeed)
	third := len(z) / 3
	var out []byte
	out = append(out, frame(wsRSV1|wsframe.OpBinary, z[:third])...)
	out = append(out, frame(wsFIN|wsframe.OpPing, []byte("are you there"))...)
	out = append(out, frame(wsContinuation, z[third:2*third])...)
	out = append(out, frame(wsFIN|wsContinuation, z[2*third:])...)
	writeSplit(t, conn, out, 37)

	var c *Client
	select {
	case c = <-dialed:
	case err := <-dialErr:
		t.Fatalf("dial: %v", err)
	}
	defer func() { _ = c.Close() }()
	pong, err := readClientFrame(br)
	if err != nil || pong.op != wsframe.OpPong || string(pong.payload) != "are you there" {
		t.Fatalf("the ping's answer: %v %q (opcode %d)", err, pong.payload, pong.op)
	}

	// A good delta, then one whose checksum a flipped bit changed.
	var bad tickwirev1.ServerFrame
	if err := proto.Unmarshal(deltas[1], &bad); err != nil {
		t.Fatal(err)
	}
	bad.GetDelta().Checksum ^= 0x10
	corrupted, _ := proto.Marshal(&bad)
	out = append(frame(wsFIN|wsRSV1|wsframe.OpBinary, wsframe.Deflate(nil, deltas[0], flate.BestSpeed)),
		frame(wsFIN|wsframe.OpBinary, corrupted)...) // uncompressed, as a server may send
	writeSplit(t, conn, out, 5)
	resync, err := readClientFrame(br)
	var cf tickwirev1.ClientFrame
	if err == nil {
		err = proto.Unmarshal(resync.payload, &cf)
	}
	if err != nil || cf.GetResync() == nil || cf.GetResync().GetLastTick() != 2 {
		t.Fatalf("after the corrupted delta: %v, frame %v; want a resync request from tick 2", err, &cf)
	}

	closeFrame := frame(wsFIN|wsframe.OpClose, wsframe.AppendClose(nil, 4003, "ROOM_NOT_FOUND"))
	writeSplit(t, conn, closeFrame, 3)
	reply, err := readClientFrame(br)
	if err != nil || reply.op != wsframe.OpClose || len(reply.payload) < 2 || binary.BigEndian.Uint16(reply.payload) != 4003 {
		t.Fatalf("the close's answer: %v %+v", err, reply)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the client did not see the close")
	}
	s := c.Stats()
	if s.Deltas != 1 || s.Desyncs != 1 || s.Resyncs != 1 || s.BadFrames != 0 || s.CloseCode != 4003 || !s.Closed || !s.Deflate {
		t.Fatalf("stats: deltas %d desyncs %d resyncs %d bad frames %d close %d closed %v deflate %v",
			s.Deltas, s.Desyncs, s.Resyncs, s.BadFrames, s.CloseCode, s.Closed, s.Deflate)
	}
	if s.TotalWireBytes < int64(len(welcome)/4) || s.WireBytes == 0 {
		t.Fatalf("wire bytes %d (window %d)", s.TotalWireBytes, s.WireBytes)
	}
}

// TestReaderRefusesOverSocket: a server frame the bot refuses (masked, as
// no server may send) ends the connection with 1002 from the bot.
func TestReaderRefusesOverSocket(t *testing.T) {
	srv := newHandServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dialErr := make(chan error, 1)
	go func() {
		_, err := Dial(ctx, Config{URL: srv.url(), RoomID: "room-1", Name: "bot"})
		dialErr <- err
	}()
	conn := srv.accept(t)
	br := bufio.NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	if _, err := readClientFrame(br); err != nil {
		t.Fatal(err)
	}
	masked := wsframe.AppendFrame(nil, wsframe.Header{Fin: true, Op: wsframe.OpBinary, Masked: true, Key: [4]byte{9, 8, 7, 6}}, []byte("hello"))
	if _, err := conn.Write(masked); err != nil {
		t.Fatal(err)
	}
	reply, err := readClientFrame(br)
	if err != nil || reply.op != wsframe.OpClose || len(reply.payload) < 2 || binary.BigEndian.Uint16(reply.payload) != wsframe.CloseProtocolError {
		t.Fatalf("the bot's close: %v %+v, want 1002", err, reply)
	}
	if err := <-dialErr; err == nil {
		t.Fatal("the join succeeded")
	}
}
