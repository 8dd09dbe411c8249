package bots

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/klauspost/compress/flate"

	"github.com/tickwire/tickwire/internal/wsframe"
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

// plainFrame is a frame as gws should see it.
type plainFrame struct {
	b0      byte
	payload string
}

// readFrames parses what an inflateConn hands gws: the HTTP response, then
// frames.
func readFrames(t *testing.T, r io.Reader) (string, []plainFrame) {
	t.Helper()
	br := bufio.NewReader(r)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	var frames []plainFrame
	for {
		b, err := br.Peek(2)
		if err == io.EOF && len(b) == 0 {
			return head.String(), frames
		} else if err != nil {
			t.Fatalf("frame header: %v", err)
		}
		if b, err = br.Peek(wsframe.HeaderLen(b[1])); err != nil {
			t.Fatalf("frame header: %v", err)
		}
		b0 := b[0]
		h, n, err := wsframe.ParseHeader(b)
		if err != nil {
			t.Fatalf("frame header: %v", err)
		}
		_, _ = br.Discard(n)
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatalf("frame payload: %v", err)
		}
		frames = append(frames, plainFrame{b0, string(p)})
	}
}

func TestInflateConn(t *testing.T) {
	const head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n\r\n"
	big := strings.Repeat("arena state ", 7000) // 84 000 bytes: a 64-bit length once inflated
	mid := strings.Repeat("0123456789", 50)     // 500 bytes: a 16-bit length
	fragmented := deflateMessage(t, []byte(mid))
	third := len(fragmented) / 3

	var in bytes.Buffer
	in.WriteString(head)
	in.Write(frame(wsFIN|0x2, []byte("plain binary")))                            // passed through
	in.Write(frame(wsFIN|wsRSV1|0x2, deflateMessage(t, []byte("small"))))         // one compressed frame
	in.Write(frame(wsFIN|wsRSV1|0x2, deflateMessage(t, []byte(big))))             // inflates past 64 KiB
	in.Write(frame(wsRSV1|0x2, fragmented[:third]))                               // a compressed message in three frames,
	in.Write(frame(wsFIN|0x9, []byte("ping")))                                    // a ping between them,
	in.Write(frame(wsContinuation, fragmented[third:2*third]))                    // ...
	in.Write(frame(wsFIN|wsContinuation, fragmented[2*third:]))                   // ...
	in.Write(frame(0x1, []byte("plain ")))                                        // a plain fragmented text message
	in.Write(frame(wsFIN|wsContinuation, []byte("text")))                         // ...
	in.Write(frame(wsFIN|wsRSV1|0x1, deflateMessage(t, nil)))                     // an empty compressed message
	in.Write(frame(wsFIN|0x8, wsframe.AppendClose(nil, wsframe.CloseNormal, ""))) // close

	for _, chunk := range []int{1, 7, 4096} {
		c := newInflateConn(&rawConn{r: bytes.NewReader(in.Bytes()), chunk: chunk}, maxFrameSize)
		gotHead, frames := readFrames(t, c)
		if gotHead != head {
			t.Errorf("chunk %d: handshake %q, want it unchanged", chunk, gotHead)
		}
		want := []plainFrame{
			{wsFIN | 0x2, "plain binary"},
			{wsFIN | 0x2, "small"},
			{wsFIN | 0x2, big},
			{wsFIN | 0x9, "ping"},
			{wsFIN | 0x2, mid},
			{0x1, "plain "},
			{wsFIN | wsContinuation, "text"},
			{wsFIN | 0x1, ""},
			{wsFIN | 0x8, "\x03\xe8"},
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

func TestInflateConnRefuses(t *testing.T) {
	const head = "HTTP/1.1 101 Switching Protocols\r\n\r\n"
	for name, tc := range map[string]struct {
		frames []byte
		want   error
	}{
		"inflates past the limit": {
			frames: frame(wsFIN|wsRSV1|0x2, deflateMessage(t, bytes.Repeat([]byte{'x'}, 5000))),
			want:   errInflatedTooLarge,
		},
		"compressed past the limit": {
			frames: frame(wsFIN|wsRSV1|0x2, make([]byte, 5000)),
			want:   errInflatedTooLarge,
		},
		"not deflate": {frames: frame(wsFIN|wsRSV1|0x2, []byte{0xff, 0xff, 0xff})},
		"new message inside a fragmented one": {
			frames: append(frame(wsRSV1|0x2, deflateMessage(t, []byte("a"))), frame(wsFIN|wsRSV1|0x2, deflateMessage(t, []byte("b")))...),
		},
	} {
		c := newInflateConn(&rawConn{r: strings.NewReader(head + string(tc.frames)), chunk: 4096}, 4096)
		_, err := io.ReadAll(c)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: read error %v, want %v", name, err, tc.want)
		}
	}
}

// BenchmarkInflateConn measures what a bot's compressed frame costs on its
// way to gws: parsing the frame and inflating it with a pooled inflater.
func BenchmarkInflateConn(b *testing.B) {
	_, frames := benchFrames(b)
	var compressed bytes.Buffer
	w, _ := flate.NewWriter(&compressed, flate.BestSpeed)
	_, _ = w.Write(frames[0])
	_ = w.Flush()
	f := frame(wsFIN|wsRSV1|0x2, bytes.TrimSuffix(compressed.Bytes(), []byte{0, 0, 0xff, 0xff}))
	src := &loopReader{b: f}
	c := newInflateConn(&rawConn{r: src, chunk: 1 << 20}, maxFrameSize)
	c.inHandshake = false
	buf := make([]byte, readBufferSize)
	want := len(frame(wsFIN|0x2, frames[0]))
	b.ReportAllocs()
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		for got := 0; got < want; {
			n, err := c.Read(buf)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
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
