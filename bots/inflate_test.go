package bots

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"

	"github.com/tickwire/tickwire/internal/wsframe"
)

// Frame header bits, as the tests write them.
const (
	wsFIN          = wsframe.FinBit
	wsRSV1         = wsframe.RSV1Bit
	wsOpcode       = wsframe.OpMask
	wsContinuation = wsframe.OpContinuation
)

// rawConn serves fixed bytes as a connection's input, a few at a time so
// that frames straddle reads.
type rawConn struct {
	net.Conn
	r     io.Reader
	chunk int
}

func (c *rawConn) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.chunk)]) }

// frame encodes a server frame: unmasked, with the given first byte.
func frame(b0 byte, payload []byte) []byte {
	h := wsframe.Header{Fin: b0&wsframe.FinBit != 0, RSV: b0 & 0x70, Op: b0 & wsframe.OpMask}
	return wsframe.AppendFrame(nil, h, payload)
}

// deflateMessage compresses a message as a permessage-deflate sender does.
func deflateMessage(_ testing.TB, msg []byte) []byte {
	return wsframe.Deflate(nil, msg, flate.BestSpeed)
}

// plainFrame is a message (or a ping) as a wsReader hands it on: the first
// byte of an unfragmented frame of it, and its payload.
type plainFrame struct {
	b0      byte
	payload string
}

// recordSink records what a wsReader hands on.
type recordSink struct{ frames []plainFrame }

func (s *recordSink) message(op byte, data []byte, _ *cachedFrame) {
	s.frames = append(s.frames, plainFrame{wsFIN | op, string(data)})
}

func (s *recordSink) ping(p []byte) {
	s.frames = append(s.frames, plainFrame{wsFIN | wsframe.OpPing, string(p)})
}

// readAll reads the server's frames from r as a bot with compression on
// does, through cache (or none), until the reader stops, and returns what
// it handed on and why it stopped.
func readAll(r io.Reader, cache *frameCache, limit int) ([]plainFrame, error) {
	var sink recordSink
	wr := &wsReader{src: r, sink: &sink, cache: cache, deflate: true, limit: limit}
	err := wr.run()
	return sink.frames, err
}

// TestReaderFrames: plain, compressed, large, empty and fragmented messages,
// with a ping among fragments, read in chunks of 1, 7 and 4096 bytes (so
// that headers and payloads are split across reads), come out whole, and
// the close ends the read with its code.
func TestReaderFrames(t *testing.T) {
	big := strings.Repeat("arena state ", 7000) // 84 000 bytes: a 64-bit length once inflated
	mid := strings.Repeat("0123456789", 50)     // 500 bytes: a 16-bit length
	fragmented := deflateMessage(t, []byte(mid))
	third := len(fragmented) / 3

	var in bytes.Buffer
	in.Write(frame(wsFIN|0x2, []byte("plain binary")))                           // plain
	in.Write(frame(wsFIN|wsRSV1|0x2, deflateMessage(t, []byte("small"))))        // one compressed frame
	in.Write(frame(wsFIN|wsRSV1|0x2, deflateMessage(t, []byte(big))))            // inflates past 64 KiB
	in.Write(frame(wsRSV1|0x2, fragmented[:third]))                              // a compressed message in three frames,
	in.Write(frame(wsFIN|0x9, []byte("ping")))                                   // a ping between them,
	in.Write(frame(wsFIN|0xa, []byte("pong")))                                   // and a pong, ignored
	in.Write(frame(wsContinuation, fragmented[third:2*third]))                   // ...
	in.Write(frame(wsFIN|wsContinuation, fragmented[2*third:]))                  // ...
	in.Write(frame(0x1, []byte("plain ")))                                       // a plain fragmented text message
	in.Write(frame(wsContinuation, []byte("te")))                                // ...
	in.Write(frame(wsFIN|wsContinuation, []byte("xt")))                          // ...
	in.Write(frame(wsFIN|wsRSV1|0x1, deflateMessage(t, nil)))                    // an empty compressed message
	in.Write(frame(wsFIN|0x2, nil))                                              // an empty plain one
	in.Write(frame(wsFIN|0x8, wsframe.AppendClose(nil, 4003, "ROOM_NOT_FOUND"))) // close
	in.Write(frame(wsFIN|0x2, []byte("after the close")))                        // not read

	for _, chunk := range []int{1, 7, 4096} {
		frames, err := readAll(&rawConn{r: bytes.NewReader(in.Bytes()), chunk: chunk}, nil, maxFrameSize)
		var pc *peerClose
		if !errors.As(err, &pc) || pc.code != 4003 || pc.reason != "ROOM_NOT_FOUND" || pc.err != nil || pc.reply() != 4003 {
			t.Errorf("chunk %d: stopped with %v, want the server's close 4003", chunk, err)
		}
		want := []plainFrame{
			{wsFIN | 0x2, "plain binary"},
			{wsFIN | 0x2, "small"},
			{wsFIN | 0x2, big},
			{wsFIN | 0x9, "ping"},
			{wsFIN | 0x2, mid},
			{wsFIN | 0x1, "plain text"},
			{wsFIN | 0x1, ""},
			{wsFIN | 0x2, ""},
		}
		if len(frames) != len(want) {
			t.Fatalf("chunk %d: %d frames, want %d", chunk, len(frames), len(want))
		}
		for i, f := range frames {
			if f.b0 != want[i].b0 || f.payload != want[i].payload {
				t.Errorf("chunk %d: frame %d = %#x %.40q (%d bytes), want %#x %.40q (%d bytes)",
					chunk, i, f.b0, f.payload, len(f.payload), want[i].b0, want[i].payload, len(want[i].payload))
			}
		}
	}
}

// TestReaderRefuses: what a server may not send ends the read with the
// close code that says why; a close frame's own faults are answered too.
func TestReaderRefuses(t *testing.T) {
	masked := wsframe.AppendFrame(nil, wsframe.Header{Fin: true, Op: 0x2, Masked: true, Key: [4]byte{1, 2, 3, 4}}, []byte("x"))
	for name, tc := range map[string]struct {
		frames  []byte
		plain   bool  // the server did not agree to permessage-deflate
		want    error // errors.Is, if set
		code    uint16
		corrupt bool // change one byte of the compressed payload
	}{
		"inflates past the limit": {
			frames: frame(wsFIN|wsRSV1|0x2, deflateMessage(t, bytes.Repeat([]byte{'x'}, 5000))),
			want:   errInflatedTooLarge, code: wsframe.CloseTooLarge,
		},
		"compressed past the limit": {
			frames: frame(wsFIN|wsRSV1|0x2, make([]byte, 5000)), want: errInflatedTooLarge, code: wsframe.CloseTooLarge,
		},
		"plain past the limit": {
			frames: frame(wsFIN|0x2, make([]byte, 5000)), want: errInflatedTooLarge, code: wsframe.CloseTooLarge,
		},
		"fragments past the limit": {
			frames: append(frame(0x2, make([]byte, 3000)), frame(wsFIN|wsContinuation, make([]byte, 3000))...),
			want:   errInflatedTooLarge, code: wsframe.CloseTooLarge,
		},
		"not deflate":         {frames: frame(wsFIN|wsRSV1|0x2, []byte{0xff, 0xff, 0xff}), want: wsframe.ErrCorrupt, code: wsframe.CloseInvalidData},
		"corrupted in flight": {frames: frame(wsFIN|wsRSV1|0x2, deflateMessage(t, []byte("a delta of the arena"))), corrupt: true, code: wsframe.CloseInvalidData},
		"new message inside a fragmented one": {
			frames: append(frame(wsRSV1|0x2, deflateMessage(t, []byte("a"))), frame(wsFIN|wsRSV1|0x2, deflateMessage(t, []byte("b")))...),
			code:   wsframe.CloseProtocolError,
		},
		"continuation first":         {frames: frame(wsFIN|wsContinuation, []byte("x")), code: wsframe.CloseProtocolError},
		"masked":                     {frames: masked, code: wsframe.CloseProtocolError},
		"RSV2":                       {frames: frame(wsFIN|0x20|0x2, []byte("x")), code: wsframe.CloseProtocolError},
		"RSV1 without deflate":       {frames: frame(wsFIN|wsRSV1|0x2, deflateMessage(t, []byte("a"))), plain: true, code: wsframe.CloseProtocolError},
		"RSV1 on a ping":             {frames: frame(wsFIN|wsRSV1|0x9, nil), code: wsframe.CloseProtocolError},
		"fragmented ping":            {frames: frame(0x9, []byte("p")), code: wsframe.CloseProtocolError},
		"long ping":                  {frames: frame(wsFIN|0x9, make([]byte, 126)), code: wsframe.CloseProtocolError},
		"reserved opcode":            {frames: frame(wsFIN|0x3, nil), code: wsframe.CloseProtocolError},
		"reserved control opcode":    {frames: frame(wsFIN|0xb, nil), code: wsframe.CloseProtocolError},
		"64-bit length with top bit": {frames: []byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}, code: wsframe.CloseProtocolError},
	} {
		frames := tc.frames
		if tc.corrupt {
			frames = bytes.Clone(frames)
			frames[2] |= 0x06 // the first block's type: reserved
		}
		var sink recordSink
		r := &wsReader{src: &rawConn{r: bytes.NewReader(frames), chunk: 4096}, sink: &sink, deflate: !tc.plain, limit: 4096}
		err := r.run()
		var we *wsError
		if !errors.As(err, &we) || we.code != tc.code || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: read error %v, want close %d (%v)", name, err, tc.code, tc.want)
		}
		if len(sink.frames) != 0 {
			t.Errorf("%s: handed on %q", name, sink.frames)
		}
	}

	for name, tc := range map[string]struct {
		payload []byte
		reply   uint16
	}{
		"no code":          {nil, wsframe.CloseNormal},
		"one byte":         {[]byte{3}, wsframe.CloseProtocolError},
		"reserved code":    {wsframe.AppendClose(nil, 1005, ""), wsframe.CloseProtocolError},
		"reason not UTF-8": {wsframe.AppendClose(nil, 1000, "\xff"), wsframe.CloseInvalidData},
		"going away":       {wsframe.AppendClose(nil, 1001, "bye"), 1001},
	} {
		_, err := readAll(bytes.NewReader(frame(wsFIN|0x8, tc.payload)), nil, 4096)
		var pc *peerClose
		if !errors.As(err, &pc) || pc.reply() != tc.reply {
			t.Errorf("close %s: %v, want it answered with %d", name, err, tc.reply)
		}
	}
}

// discardSink counts messages.
type discardSink struct{ n int }

func (s *discardSink) message(byte, []byte, *cachedFrame) { s.n++ }
func (s *discardSink) ping([]byte)                        {}

// BenchmarkInflateConn measures what a bot's compressed frame costs on its
// way to the Client: one read and parsing the frame, then "inflate"
// inflates it with a pooled inflater (no frame cache) and "cached" finds it
// in the frame cache, as every bot after a room's first does. (Before the
// bots read their sockets themselves this benchmark went through the
// process's frame cache without saying so: compare "cached" with it.)
func BenchmarkInflateConn(b *testing.B) {
	_, frames := benchFrames(b)
	var compressed bytes.Buffer
	w, _ := flate.NewWriter(&compressed, flate.BestSpeed)
	_, _ = w.Write(frames[0])
	_ = w.Flush()
	f := frame(wsFIN|wsRSV1|0x2, bytes.TrimSuffix(compressed.Bytes(), []byte{0, 0, 0xff, 0xff}))
	for _, bc := range []struct {
		name  string
		cache *frameCache
	}{{"inflate", nil}, {"cached", newFrameCache(1<<20, 16, time.Hour)}} {
		b.Run(bc.name, func(b *testing.B) {
			var sink discardSink
			r := &wsReader{src: &rawConn{r: &loopReader{b: f}, chunk: len(f)}, sink: &sink, cache: bc.cache, deflate: true, limit: maxFrameSize}
			b.ReportAllocs()
			b.SetBytes(int64(len(f)))
			for b.Loop() {
				if err := r.readOnce(); err != nil {
					b.Fatal(err)
				}
			}
			if sink.n == 0 {
				b.Fatal("no message read")
			}
		})
	}
}

// loopReader repeats b forever.
type loopReader struct {
	b   []byte
	off int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.b[l.off:])
	l.off = (l.off + n) % len(l.b)
	return n, nil
}
