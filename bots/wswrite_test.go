package bots

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/internal/wsframe"
	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// loopbackPair returns the two ends of a TCP connection on loopback: the
// bot's and the server's. With small, the kernel buffers little in either
// direction, so that a server that does not read soon fills the socket.
func loopbackPair(t *testing.T, small bool) (bot, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	bot, server = c.(*net.TCPConn), s.(*net.TCPConn)
	t.Cleanup(func() { _ = bot.Close(); _ = server.Close() })
	if small {
		if err := bot.SetWriteBuffer(16 << 10); err != nil {
			t.Fatal(err)
		}
		if err := server.SetReadBuffer(16 << 10); err != nil {
			t.Fatal(err)
		}
	}
	_ = server.SetReadDeadline(time.Now().Add(20 * time.Second))
	return bot, server
}

// stalledPair is a loopbackPair whose server does not read until told to.
func stalledPair(t *testing.T) (bot, server *net.TCPConn) { return loopbackPair(t, true) }

// rawWriter is a wsWriter over conn's socket, as Dial makes it.
func rawWriter(t *testing.T, conn *net.TCPConn) *wsWriter {
	t.Helper()
	rc := socketOf(conn)
	if rc == nil {
		t.Skip("no raw socket writes on this system")
	}
	return newWriter(conn, rc, zerolog.Nop())
}

// message is a game message frame of n bytes of data.
func message(op uint32, n int) *tickwirev1.ClientFrame {
	return &tickwirev1.ClientFrame{Body: &tickwirev1.ClientFrame_Message{Message: &tickwirev1.GameMessage{
		Op: op, Data: bytes.Repeat([]byte{byte(op)}, n),
	}}}
}

// fill writes large messages until the socket is full and one waits in
// the queue; the server must not be reading.
func fill(t *testing.T, w *wsWriter) int {
	t.Helper()
	for i := 1; i < 10_000; i++ {
		if err := w.writeMessage(message(uint32(i), 64<<10)); err != nil {
			t.Fatal(err)
		}
		if w.pending.Load() > 0 {
			return i
		}
	}
	t.Fatal("the socket never filled")
	return 0
}

// readFrames reads n frames the bot sent (checked masked and whole by
// readClientFrame), with their masking keys.
func readFrames(t *testing.T, br *bufio.Reader, n int) ([]clientFrame, [][4]byte) {
	t.Helper()
	var frames []clientFrame
	var keys [][4]byte
	for range n {
		if h, _, err := wsframe.PeekHeader(br); err == nil {
			keys = append(keys, h.Key)
		}
		f, err := readClientFrame(br)
		if err != nil {
			t.Fatalf("frame %d of %d: %v", len(frames)+1, n, err)
		}
		frames = append(frames, f)
	}
	return frames, keys
}

func decodeClientFrame(t *testing.T, f clientFrame) *tickwirev1.ClientFrame {
	t.Helper()
	var cf tickwirev1.ClientFrame
	if f.op != wsframe.OpBinary {
		t.Fatalf("opcode %d, want binary", f.op)
	}
	if err := proto.Unmarshal(f.payload, &cf); err != nil {
		t.Fatal(err)
	}
	return &cf
}

// TestWriterFrames: the frames a writer sends parse as masked client
// frames with a fresh key each, carry what was sent, and end with the
// close, after which the socket is closed and writes refused.
func TestWriterFrames(t *testing.T) {
	conn, server := loopbackPair(t, false)
	w := rawWriter(t, conn)
	var in inputFrame
	for seq := range uint32(3) {
		if err := w.writeMessage(in.set(seq+1, []uint64{uint64(seq), 7})); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.writePong([]byte("are you there")); err != nil {
		t.Fatal(err)
	}
	if err := w.writeMessage(message(9, 300)); err != nil { // a 16-bit length
		t.Fatal(err)
	}
	if err := w.writeClose(4001); err != nil {
		t.Fatal(err)
	}
	if err := w.writeMessage(message(1, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a write after the close: %v, want net.ErrClosed", err)
	}
	br := bufio.NewReader(server)
	frames, keys := readFrames(t, br, 6)
	for i := range 3 {
		if got := decodeClientFrame(t, frames[i]).GetInput(); got.GetSeq() != uint32(i+1) || got.GetValues()[0] != uint64(i) {
			t.Errorf("frame %d: input %v", i, got)
		}
	}
	if f := frames[3]; f.op != wsframe.OpPong || string(f.payload) != "are you there" {
		t.Errorf("pong: opcode %d %q", f.op, f.payload)
	}
	if m := decodeClientFrame(t, frames[4]).GetMessage(); m.GetOp() != 9 || len(m.GetData()) != 300 {
		t.Errorf("message: op %d, %d bytes", m.GetOp(), len(m.GetData()))
	}
	if code, _, err := wsframe.ParseClose(frames[5].payload); frames[5].op != wsframe.OpClose || code != 4001 || err != nil {
		t.Errorf("close: opcode %d code %d %v", frames[5].op, code, err)
	}
	distinct := map[[4]byte]bool{}
	for _, k := range keys {
		distinct[k] = true
	}
	if len(keys) != 6 || len(distinct) < 5 {
		t.Errorf("masking keys %x: want one per frame, fresh", keys)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after the close frame: %v, want EOF", err)
	}
}

// TestWriterPartialWrite: a frame the socket takes only part of is
// finished before any frame sent after it, and the close frame goes last,
// then the socket closes.
func TestWriterPartialWrite(t *testing.T) {
	conn, server := stalledPair(t)
	w := rawWriter(t, conn)
	// Far more than the socket's buffers hold: the kernel takes a part.
	if err := w.writeMessage(message(1, 4<<20)); err != nil {
		t.Fatal(err)
	}
	if w.pending.Load() != 1 {
		t.Fatalf("pending %d after a frame larger than the socket's buffers, want 1", w.pending.Load())
	}
	var in inputFrame
	for seq := range uint32(3) {
		if err := w.writeMessage(in.set(seq+1, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.writePong([]byte("p")); err != nil {
		t.Fatal(err)
	}
	if err := w.writeClose(wsframe.CloseNormal); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(server)
	frames, _ := readFrames(t, br, 6)
	if m := decodeClientFrame(t, frames[0]).GetMessage(); m.GetOp() != 1 || len(m.GetData()) != 4<<20 {
		t.Fatalf("the large message: op %d, %d bytes", m.GetOp(), len(m.GetData()))
	}
	for i := 1; i <= 3; i++ {
		if seq := decodeClientFrame(t, frames[i]).GetInput().GetSeq(); seq != uint32(i) {
			t.Errorf("frame %d: input %d, want %d", i, seq, i)
		}
	}
	if frames[4].op != wsframe.OpPong || frames[5].op != wsframe.OpClose {
		t.Errorf("opcodes %d, %d; want pong, close", frames[4].op, frames[5].op)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after the close frame: %v, want EOF", err)
	}
}

// TestWriterBackpressure: while the socket is full, maxPendingWrites
// frames queue and the next data frame is refused; a pong still goes. Once
// the server reads, everything queued arrives and writes go through again.
func TestWriterBackpressure(t *testing.T) {
	conn, server := stalledPair(t)
	w := rawWriter(t, conn)
	sent := fill(t, w)
	var in inputFrame
	for seq := range uint32(maxPendingWrites - 1) {
		if err := w.writeMessage(in.set(seq+1, nil)); err != nil {
			t.Fatalf("input %d of the queue: %v", seq+1, err)
		}
	}
	if err := w.writeMessage(in.set(100, nil)); !errors.Is(err, ErrBackpressure) {
		t.Fatalf("a data frame behind %d: %v, want ErrBackpressure", maxPendingWrites, err)
	}
	if err := w.writePong([]byte("p")); err != nil {
		t.Fatalf("a pong behind a full queue: %v", err)
	}
	br := bufio.NewReader(server)
	frames, _ := readFrames(t, br, sent+maxPendingWrites)
	for i := range sent {
		if m := decodeClientFrame(t, frames[i]).GetMessage(); m.GetOp() != uint32(i+1) || len(m.GetData()) != 64<<10 {
			t.Fatalf("message %d: op %d, %d bytes", i+1, m.GetOp(), len(m.GetData()))
		}
	}
	for i := range maxPendingWrites - 1 {
		if seq := decodeClientFrame(t, frames[sent+i]).GetInput().GetSeq(); seq != uint32(i+1) {
			t.Fatalf("queued input %d arrived as %d", i+1, seq)
		}
	}
	if f := frames[len(frames)-1]; f.op != wsframe.OpPong {
		t.Fatalf("last frame: opcode %d, want the pong", f.op)
	}
	// The flusher may still be giving the socket back; either way the
	// frame is accepted and arrives.
	if err := w.writeMessage(in.set(200, nil)); err != nil {
		t.Fatal(err)
	}
	f, _ := readFrames(t, br, 1)
	if seq := decodeClientFrame(t, f[0]).GetInput().GetSeq(); seq != 200 {
		t.Fatalf("after the drain: input %d, want 200", seq)
	}
}

// TestWriterTimeout: frames that wait for the socket longer than the write
// timeout close the connection, and later writes report why.
func TestWriterTimeout(t *testing.T) {
	conn, server := stalledPair(t)
	w := rawWriter(t, conn)
	w.timeout = time.Nanosecond // the flusher's deadline has passed when it waits
	// Fill the socket. The flusher may fail as soon as a frame is queued,
	// before the loop sees it queued: then the next write reports the
	// timeout, which is what this test is after.
	for i := 1; w.pending.Load() == 0; i++ {
		if i == 10_000 {
			t.Fatal("the socket never filled")
		}
		err := w.writeMessage(message(uint32(i), 64<<10))
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := io.Copy(io.Discard, server); err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Fatalf("reading until the bot closes: %v", err)
	}
	if err := w.writeMessage(message(1, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a write after the timeout: %v, want one wrapping os.ErrDeadlineExceeded", err)
	}
	if w.pending.Load() != 0 {
		t.Fatalf("pending %d after the connection failed", w.pending.Load())
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "read"
}

// TestWriterBlocking: without a raw socket (TLS, or no unix), frames are
// written whole by the sender, and the close ends the connection.
func TestWriterBlocking(t *testing.T) {
	conn, server := loopbackPair(t, false)
	w := newWriter(conn, nil, zerolog.Nop())
	var in inputFrame
	if err := w.writeMessage(in.set(1, []uint64{3})); err != nil {
		t.Fatal(err)
	}
	if err := w.writePong([]byte("p")); err != nil {
		t.Fatal(err)
	}
	if err := w.writeClose(wsframe.CloseNormal); err != nil {
		t.Fatal(err)
	}
	if err := w.writeMessage(in.set(2, nil)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a write after the close: %v, want net.ErrClosed", err)
	}
	br := bufio.NewReader(server)
	frames, _ := readFrames(t, br, 3)
	if seq := decodeClientFrame(t, frames[0]).GetInput().GetSeq(); seq != 1 {
		t.Errorf("input %d, want 1", seq)
	}
	if frames[1].op != wsframe.OpPong || frames[2].op != wsframe.OpClose {
		t.Errorf("opcodes %d, %d; want pong, close", frames[1].op, frames[2].op)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after the close frame: %v, want EOF", err)
	}
}

// BenchmarkWriteInput is one bot input written to a loopback socket that
// a goroutine drains, as the runner's ticker sends it: marshalled into the
// writer's buffer, framed, masked and written by one system call. It must
// not allocate.
func BenchmarkWriteInput(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	go func() {
		s, err := ln.Accept()
		if err == nil {
			_, _ = io.Copy(io.Discard, s)
			_ = s.Close()
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	rc := socketOf(conn)
	if rc == nil {
		b.Skip("no raw socket writes on this system")
	}
	w := newWriter(conn, rc, zerolog.Nop())
	var in inputFrame
	vals := []uint64{1, 2}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := w.writeMessage(in.set(uint32(i), vals)); errors.Is(err, ErrBackpressure) {
			b.StopTimer() // the drain fell behind: let it catch up
			for w.pending.Load() > 0 {
				time.Sleep(time.Millisecond)
			}
			b.StartTimer()
		} else if err != nil {
			b.Fatal(err)
		}
	}
}

// TestWriterAgainstServer: over a real loopback socket a gws server reads
// a bot's Join, inputs in order, its answer to a ping and its close with
// code 1000, all written by the bot's own writer.
func TestWriterAgainstServer(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{tickRate: 20})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{URL: srv.url, RoomID: "w", Name: "bot"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.writer.(*wsWriter); !ok {
		t.Fatalf("writer %T", c.writer)
	}
	hear := func(what string) heardFrame {
		t.Helper()
		select {
		case f := <-srv.heard:
			return f
		case <-ctx.Done():
			t.Fatalf("the server never heard %s", what)
		}
		return heardFrame{}
	}
	for range 5 {
		if err := c.SendInput(Input{}); err != nil {
			t.Fatal(err)
		}
	}
	for seq := uint32(1); seq <= 5; seq++ {
		if f := hear("an input"); f.seq != seq {
			t.Fatalf("heard %+v, want input %d", f, seq)
		}
	}
	r := srv.room("w")
	r.mu.Lock()
	err = r.sessions[0].conn.WritePing([]byte("hello"))
	r.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if f := hear("a pong"); f.pong != "hello" {
		t.Fatalf("heard %+v, want the pong", f)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if f := hear("the close"); f.close != wsframe.CloseNormal {
		t.Fatalf("heard %+v, want close 1000", f)
	}
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("the client did not end")
	}
	if s := c.Stats(); !s.Closed || s.InputsSent != 5 || s.InputsDropped != 0 {
		t.Fatalf("closed %v, inputs sent %d dropped %d", s.Closed, s.InputsSent, s.InputsDropped)
	}
}
