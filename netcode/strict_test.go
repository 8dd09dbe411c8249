package netcode

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/internal/wsframe"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// The tests of the WebSocket rules below the game protocol (RFC 6455 and
// RFC 7692), each from a raw socket as an attacker would send them.

// deflateOfferHeader is what browsers offer.
const deflateOfferHeader = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"

// dialRawDeflate upgrades with a permessage-deflate offer and fails the test
// unless the server accepts it.
func dialRawDeflate(t testing.TB, base string) *rawWS {
	t.Helper()
	c, br, resp := sendUpgrade(t, base, deflateOfferHeader)
	if resp.StatusCode != http.StatusSwitchingProtocols || !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		t.Fatalf("upgrade: %s, extensions %q; want permessage-deflate", resp.Status, resp.Header.Get("Sec-WebSocket-Extensions"))
	}
	return &rawWS{Conn: c, br: br}
}

// clientHeader is a masked client frame header with the given first byte.
func clientHeader(b0 byte) wsframe.Header {
	return wsframe.Header{Fin: b0&wsframe.FinBit != 0, RSV: b0 & 0x70, Op: b0 & wsframe.OpMask, Masked: true, Key: maskKey}
}

// rawFrame is one masked client frame with any first byte.
func rawFrame(b0 byte, payload []byte) []byte {
	return wsframe.AppendFrame(nil, clientHeader(b0), payload)
}

func deflated(msg []byte) []byte { return wsframe.Deflate(nil, msg, flate.BestSpeed) }

// firstClose reads until the first close frame and returns its code; it
// fails on a connection that ends without one.
func (c *rawWS) firstClose(t testing.TB) uint16 {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		h, p := c.next(t)
		if h.Op == wsframe.OpClose {
			code, _, err := wsframe.ParseClose(p)
			if err != nil {
				t.Fatalf("server's close frame % x: %v", p, err)
			}
			return code
		}
	}
}

// noMoreCloses reads what the server sends after its close until the
// connection ends, and fails on a second close frame.
func (c *rawWS) noMoreCloses(t testing.TB) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		h, err := readHeader(c.br)
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) {
			return
		}
		if err != nil {
			t.Fatalf("after the close: %v; want the connection to end", err)
		}
		if h.Op == wsframe.OpClose {
			t.Fatal("a second close frame")
		}
		if _, err := c.br.Discard(int(h.Length)); err != nil {
			return
		}
	}
}

// next reads one server frame, failing the test on an error.
func (c *rawWS) next(t testing.TB) (wsframe.Header, []byte) {
	t.Helper()
	h, err := readHeader(c.br)
	if err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(c.br, p); err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	return h, p
}

func TestFrameRulesCloseCodes(t *testing.T) {
	join := clientFrame(t, joinFrame("strict"))
	zjoin := deflated(join)
	const (
		protocol = wsframe.CloseProtocolError
		invalid  = wsframe.CloseInvalidData
		tooLarge = wsframe.CloseTooLarge
	)
	for _, tc := range []struct {
		name    string
		deflate bool // offer permessage-deflate
		frames  [][]byte
		code    uint16
		large   bool // counted in frames_too_large, not protocol_errors
	}{
		{"RSV2 on a binary frame", true, [][]byte{rawFrame(0x80|0x20|0x2, join)}, protocol, false},
		{"RSV3 on a binary frame", true, [][]byte{rawFrame(0x80|0x10|0x2, join)}, protocol, false},
		{"RSV1 on a ping", true, [][]byte{rawFrame(0x80|0x40|0x9, nil)}, protocol, false},
		{"RSV1 on a close", true, [][]byte{rawFrame(0x80|0x40|0x8, []byte{0x03, 0xe8})}, protocol, false},
		{"RSV1 on a continuation", true, [][]byte{rawFrame(0x40|0x2, zjoin[:2]), rawFrame(0x80|0x40, zjoin[2:])}, protocol, false},
		{"RSV1 without deflate negotiated", false, [][]byte{rawFrame(0x80|0x40|0x2, zjoin)}, protocol, false},
		{"unmasked frame", true, [][]byte{wsframe.AppendFrame(nil, wsframe.Header{Fin: true, Op: wsframe.OpBinary}, join)}, protocol, false},
		{"reserved opcode", true, [][]byte{rawFrame(0x80|0x3, join)}, protocol, false},
		{"fragmented ping", true, [][]byte{rawFrame(0x9, nil)}, protocol, false},
		{"continuation without a message", true, [][]byte{rawFrame(0x80, join)}, protocol, false},
		{"message inside a message", true, [][]byte{rawFrame(0x2, join[:2]), rawFrame(0x80|0x2, join)}, protocol, false},
		{"close code 1005", true, [][]byte{rawFrame(0x88, []byte{0x03, 0xed})}, protocol, false},
		{"close reason not UTF-8", true, [][]byte{rawFrame(0x88, []byte{0x03, 0xe8, 0xff, 0xfe, 0xfd})}, invalid, false},
		{"corrupt deflate stream", true, [][]byte{rawFrame(0x80|0x40|0x2, []byte{0xff, 0xff, 0xff, 0x00, 0x12, 0x34})}, invalid, false},
		{"20000 bytes deflated", true, [][]byte{rawFrame(0x80|0x40|0x2, deflated(make([]byte, 20000)))}, tooLarge, true},
		{"deflate bomb", true, [][]byte{rawFrame(0x80|0x40|0x2, deflated(make([]byte, 10<<20)))}, tooLarge, true},
		{"plain message over the hard cap", false, [][]byte{rawFrame(0x82, make([]byte, 20000))}, tooLarge, true},
		{"fragments over the hard cap", false, [][]byte{rawFrame(0x2, make([]byte, 10000)), rawFrame(0x80, make([]byte, 10000))}, tooLarge, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, base := startServer(t, Config{OpenRooms: true})
			var c *rawWS
			if tc.deflate {
				c = dialRawDeflate(t, base)
			} else {
				c = dialRawWS(t, base)
			}
			for _, f := range tc.frames {
				if _, err := c.Write(f); err != nil {
					t.Fatal(err)
				}
			}
			if code := c.firstClose(t); code != tc.code {
				t.Fatalf("close %d, want %d", code, tc.code)
			}
			// One close frame, then the end of the connection once the
			// client has answered (the server may have ended it already
			// when the client's own close was the fault).
			_, _ = c.Write(appendClientFrame(nil, opClose, wsframe.AppendClose(nil, wsframe.CloseNormal, "")))
			c.noMoreCloses(t)
			st := srv.Stats()
			if tc.large && st.FramesTooLarge != 1 || !tc.large && st.ProtocolErrors != 1 {
				t.Fatalf("frames_too_large %d, protocol_errors %d; want the close counted once", st.FramesTooLarge, st.ProtocolErrors)
			}
			// The node still serves.
			ok := dialRawDeflate(t, base)
			ok.write(t, opBinary, join)
			if op, _, err := ok.readFrame(); err != nil || op != opBinary {
				t.Fatalf("next client: frame %d, %v; want its welcome", op, err)
			}
		})
	}
}

// TestCompressedAndFragmentedJoins shows what the guard lets through: a
// compressed join, in one frame or in three with a ping between them, and a
// plain one in fragments, each answered with a welcome; a compressed
// message over the read limit (below the hard cap) gets FRAME_TOO_LARGE
// like a plain one.
func TestCompressedAndFragmentedJoins(t *testing.T) {
	join := clientFrame(t, joinFrame("frag"))
	z := deflated(join)
	for _, tc := range []struct {
		name   string
		frames [][]byte
	}{
		{"compressed", [][]byte{rawFrame(0x80|0x40|0x2, z)}},
		{"compressed in three with a ping", [][]byte{rawFrame(0x40|0x2, z[:3]), rawFrame(0x89, []byte("p")), rawFrame(0x00, z[3:6]), rawFrame(0x80, z[6:])}},
		{"plain in two", [][]byte{rawFrame(0x2, join[:4]), rawFrame(0x80, join[4:])}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, base := startServer(t, Config{OpenRooms: true})
			c := dialRawDeflate(t, base)
			for _, f := range tc.frames {
				if _, err := c.Write(f); err != nil {
					t.Fatal(err)
				}
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			for {
				h, p := c.next(t)
				var err error
				if h.Op == wsframe.OpClose {
					t.Fatalf("closed with % x", p)
				}
				if h.Op != wsframe.OpBinary {
					continue
				}
				if h.Compressed() {
					if p, err = wsframe.Inflate(nil, p, 1<<20); err != nil {
						t.Fatal(err)
					}
				}
				var f pb.ServerFrame
				if err := proto.Unmarshal(p, &f); err != nil || f.GetWelcome() == nil {
					t.Fatalf("first frame %v, %v; want a welcome", &f, err)
				}
				return
			}
		})
	}
	t.Run("compressed over the read limit", func(t *testing.T) {
		srv, base := startServer(t, Config{OpenRooms: true})
		c := dialRawDeflate(t, base)
		big := clientFrame(t, &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: "r", Ticket: strings.Repeat("x", 5000)}}})
		if _, err := c.Write(rawFrame(0x80|0x40|0x2, deflated(big))); err != nil {
			t.Fatal(err)
		}
		if code, e := c.readUntilClose(t); code != 4012 || e.GetCode() != pb.ErrorCode_ERROR_CODE_FRAME_TOO_LARGE {
			t.Fatalf("close %d, error %v; want 4012 FRAME_TOO_LARGE", code, e)
		}
		if st := srv.Stats(); st.FramesTooLarge != 1 {
			t.Fatalf("frames_too_large %d, want 1", st.FramesTooLarge)
		}
	})
}

// TestEmptyContinuationFloodIsLimited opens a message and then sends empty
// continuation frames that never end it: each fragment counts against the
// rate limit, so the flood is dropped, counted and closed with
// RATE_LIMITED like any other.
func TestEmptyContinuationFloodIsLimited(t *testing.T) {
	const burst, floodDrops = 10, 30
	srv, base := startServer(t, Config{OpenRooms: true, ClientRate: 100, ClientBurst: burst, FloodDrops: floodDrops, FloodWindow: time.Minute})
	c := dialRawWS(t, base)
	c.writeFrame(t, joinFrame("fragments"))
	flood := rawFrame(0x2, []byte{0x0a})
	for range 2000 {
		flood = append(flood, rawFrame(0x00, nil)...)
	}
	go func() { _, _ = c.Write(flood) }() // the server stops reading it
	if code, e := c.readUntilClose(t); code != 4013 || e.GetCode() != pb.ErrorCode_ERROR_CODE_RATE_LIMITED {
		t.Fatalf("close %d, error %v; want 4013 RATE_LIMITED", code, e)
	}
	st := srv.Stats()
	if st.RateLimitedConns != 1 || st.FramesRateLimited < floodDrops+1 || st.FramesIn < burst+floodDrops {
		t.Fatalf("stats %+v: want the fragments charged: 1 connection closed, %d frames dropped", st, floodDrops+1)
	}
}

func TestUpgradeRequestChecks(t *testing.T) {
	const head = "GET /ws HTTP/1.1\r\nHost: ADDR\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	const v13 = "Sec-WebSocket-Version: 13\r\n"
	_, base := startServer(t, Config{OpenRooms: true})
	for _, tc := range []struct {
		name, request string
		status        int
	}{
		{"valid", head + key + v13 + "\r\n", 101},
		{"version 8", head + key + "Sec-WebSocket-Version: 8\r\n\r\n", 426},
		{"no version", head + key + "\r\n", 426},
		{"two versions", head + key + v13 + "Sec-WebSocket-Version: 8\r\n\r\n", 426},
		{"key of 15 bytes", head + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n" + v13 + "\r\n", 400},
		{"key not base64", head + "Sec-WebSocket-Key: not a nonce at all!!!!!\r\n" + v13 + "\r\n", 400},
		{"key of 17 bytes", head + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n" + v13 + "\r\n", 400},
		{"no key", head + v13 + "\r\n", 400},
		{"HTTP/1.0", strings.Replace(head, "HTTP/1.1", "HTTP/1.0", 1) + key + v13 + "\r\n", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, resp := sendRequest(t, base, tc.request)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %s, want %d", resp.Status, tc.status)
			}
			if tc.status == 426 && resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Fatalf("426 with Sec-WebSocket-Version %q, want 13", resp.Header.Get("Sec-WebSocket-Version"))
			}
		})
	}
}

// TestDeflateOffers checks which permessage-deflate offers the server takes
// (RFC 7692, section 5): one it cannot honour is declined, and then the
// server sends nothing compressed.
func TestDeflateOffers(t *testing.T) {
	_, base := startServer(t, Config{OpenRooms: true})
	for _, tc := range []struct {
		offer    string
		accepted bool
	}{
		{"permessage-deflate", true},
		{"permessage-deflate; client_max_window_bits", true},
		{"permessage-deflate; client_max_window_bits=10; client_no_context_takeover", true},
		{"permessage-deflate; server_no_context_takeover; client_no_context_takeover", true},
		{"permessage-deflate; server_max_window_bits=8", false},
		{"permessage-deflate; server_max_window_bits=15", false}, // gws cannot echo it
		{"permessage-deflate; frobnicate", false},
		{"permessage-deflate; client_max_window_bits=20", false},
		{"permessage-deflate; client_max_window_bits=abc", false},
		{"permessage-deflate; server_no_context_takeover; server_no_context_takeover", false},
		{"permessage-deflate; server_no_context_takeover=1", false},
		{"x-webkit-deflate-frame", false},
		{"permessage-deflate; server_max_window_bits=8, permessage-deflate; client_max_window_bits", true},
	} {
		t.Run(tc.offer, func(t *testing.T) {
			conn, br, resp := sendUpgrade(t, base, "Sec-WebSocket-Extensions: "+tc.offer+"\r\n")
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status %s", resp.Status)
			}
			answer := resp.Header.Get("Sec-WebSocket-Extensions")
			if got := strings.HasPrefix(answer, "permessage-deflate"); got != tc.accepted {
				t.Fatalf("answer %q; want accepted %v", answer, tc.accepted)
			}
			// The welcome (540 bytes, well worth compressing) says whether
			// the server compresses.
			c := &rawWS{Conn: conn, br: br}
			c.writeFrame(t, joinFrame("offers"))
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			h, err := readHeader(c.br)
			if err != nil {
				t.Fatal(err)
			}
			if h.Compressed() != tc.accepted {
				t.Fatalf("welcome compressed %v, want %v", h.Compressed(), tc.accepted)
			}
		})
	}
}

// TestGuardBetweenReads feeds the guard a stream a byte at a time and in
// one piece: it hands gws the same frames either way.
func TestGuardBetweenReads(t *testing.T) {
	join := clientFrame(t, joinFrame("bytes"))
	z := deflated(join)
	var in bytes.Buffer
	in.Write(rawFrame(0x82, join))
	in.Write(rawFrame(0x40|0x2, z[:3]))
	in.Write(rawFrame(0x89, []byte("ping")))
	in.Write(rawFrame(0x80, z[3:]))
	in.Write(rawFrame(0x88, wsframe.AppendClose(nil, wsframe.CloseNormal, "")))
	var want []byte
	for _, chunk := range []int{1, 3, 4096} {
		g := newGuardConn(nil, &chunkReader{r: bytes.NewReader(in.Bytes()), n: chunk}, guardRules{deflate: true, hardLimit: 16 << 10})
		refused := false
		g.bind(guardHooks{charge: func() bool { return true }, refuse: func(uint16, string) { refused = true }})
		got, err := io.ReadAll(g)
		if err != nil || refused {
			t.Fatalf("chunk %d: %v, refused %v", chunk, err, refused)
		}
		if want == nil {
			want = got
			// binary join as sent; the ping; the inflated join, masked with a
			// zero key; the close as sent.
			exp := rawFrame(0x82, join)
			exp = append(exp, rawFrame(0x89, []byte("ping"))...)
			exp = wsframe.AppendFrame(exp, wsframe.Header{Fin: true, Op: wsframe.OpBinary, Masked: true}, join)
			exp = append(exp, rawFrame(0x88, wsframe.AppendClose(nil, wsframe.CloseNormal, ""))...)
			if !bytes.Equal(got, exp) {
				t.Fatalf("guard handed gws\n% x\nwant\n% x", got, exp)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("chunk %d: a different stream", chunk)
		}
	}
}

type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// FuzzGuard drives the guard with arbitrary client bytes: whatever comes in,
// it never panics, and what it hands gws is whole frames that keep the rules
// (masked, RSV clear, final data frames; control frames as they came) up to
// a verdict, after which only a close frame may follow.
func FuzzGuard(f *testing.F) {
	join := []byte("\x12\x08\x08\x01\x12\x04room")
	z := deflated(join)
	f.Add(rawFrame(0x82, join))
	f.Add(append(rawFrame(0x40|0x2, z[:2]), rawFrame(0x80, z[2:])...))
	f.Add(append(rawFrame(0x2, join[:3]), append(rawFrame(0x89, nil), rawFrame(0x80, join[3:])...)...))
	f.Add(rawFrame(0x88, []byte{0x03, 0xe8, 0xff}))
	f.Add(rawFrame(0xc2, deflated(make([]byte, 20000))))
	f.Add([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, in []byte) {
		g := newGuardConn(nil, bytes.NewReader(in), guardRules{deflate: true, hardLimit: 16 << 10})
		var verdict uint16
		g.bind(guardHooks{charge: func() bool { return len(in)%3 != 0 }, refuse: func(code uint16, _ string) {
			if verdict != 0 {
				t.Fatalf("second verdict %d after %d", code, verdict)
			}
			verdict = code
		}})
		out, _ := io.ReadAll(g)
		if verdict != 0 && verdict != wsframe.CloseProtocolError && verdict != wsframe.CloseInvalidData && verdict != wsframe.CloseTooLarge {
			t.Fatalf("verdict %d", verdict)
		}
		for len(out) > 0 {
			h, n, err := wsframe.ParseHeader(out)
			if err != nil && !errors.Is(err, wsframe.ErrShort) {
				t.Fatalf("guard handed gws a broken frame: % x (%v)", out, err)
			}
			if err == nil && (!h.Masked || !h.Fin || h.RSV != 0 || h.Op == wsframe.OpContinuation || h.Length > 16<<10) {
				t.Fatalf("guard handed gws %+v", h)
			}
			if err != nil || uint64(len(out)-n) < h.Length {
				break // the input ended inside this frame
			}
			out = out[n+int(h.Length):]
		}
	})
}

// BenchmarkGuard is what the guard costs each client frame on the usual
// path: a plain input passed through to gws. It must not allocate.
func BenchmarkGuard(b *testing.B) {
	input, _ := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Input{Input: &pb.Input{Seq: 7, Values: []uint64{2}}}})
	frame := rawFrame(0x82, input)
	g := newGuardConn(nil, &repeatReader{b: frame}, guardRules{deflate: true, hardLimit: 16 << 10})
	buf := make([]byte, len(frame))
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := io.ReadFull(g, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// repeatReader serves b over and over.
type repeatReader struct {
	b   []byte
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.b[r.off:])
	r.off = (r.off + n) % len(r.b)
	return n, nil
}
