package netcode

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/internal/wsframe"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// rawWS is a WebSocket client written by hand over a TCP connection, for
// clients that misbehave below what a client library allows: writing frames
// as fast as the socket takes them, or never answering a close. It offers no
// extensions, so server frames arrive uncompressed.
type rawWS struct {
	net.Conn
	br *bufio.Reader
}

// upgradeRequest is a minimal WebSocket upgrade for addr with extra header
// lines (each ending in \r\n).
func upgradeRequest(addr, extra string) string {
	return "GET " + Path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n"
}

// sendUpgrade connects to base and sends a WebSocket upgrade with extra
// header lines; it returns the connection, its reader and the response.
func sendUpgrade(t testing.TB, base, extra string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	return sendRequest(t, base, upgradeRequest(strings.TrimPrefix(base, "ws://"), extra))
}

// sendRequest connects to base, sends request as it is, with ADDR replaced
// by the server's address, and reads the response.
func sendRequest(t testing.TB, base, request string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	addr := strings.TrimPrefix(base, "ws://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	br, resp := sendRequestOn(t, c, addr, request)
	return c, br, resp
}

// sendUpgradeOn sends a WebSocket upgrade with extra header lines on c.
func sendUpgradeOn(t testing.TB, c net.Conn, addr, extra string) (*bufio.Reader, *http.Response) {
	t.Helper()
	return sendRequestOn(t, c, addr, upgradeRequest(addr, extra))
}

// sendRequestOn sends request on c, with ADDR replaced by addr, and reads
// the response.
func sendRequestOn(t testing.TB, c net.Conn, addr, request string) (*bufio.Reader, *http.Response) {
	t.Helper()
	if _, err := io.WriteString(c, strings.ReplaceAll(request, "ADDR", addr)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return br, resp
}

// handshake upgrades c, failing the test on anything but 101.
func handshake(t testing.TB, c net.Conn, addr string) *rawWS {
	t.Helper()
	br, resp := sendUpgradeOn(t, c, addr, "")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	return &rawWS{Conn: c, br: br}
}

// dialRawWS connects and upgrades, failing the test on anything but 101.
func dialRawWS(t testing.TB, base string) *rawWS {
	t.Helper()
	c, br, resp := sendUpgrade(t, base, "")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	return &rawWS{Conn: c, br: br}
}

// maskKey masks every frame rawWS writes; a server must accept any key.
var maskKey = [4]byte{0x5a, 0x17, 0xc3, 0x88}

// appendClientFrame appends one masked, final client frame.
func appendClientFrame(b []byte, op byte, payload []byte) []byte {
	return wsframe.AppendFrame(b, wsframe.Header{Fin: true, Op: op, Masked: true, Key: maskKey}, payload)
}

func (c *rawWS) write(t testing.TB, op byte, payload []byte) {
	t.Helper()
	if _, err := c.Write(appendClientFrame(nil, op, payload)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func (c *rawWS) writeFrame(t testing.TB, f *pb.ClientFrame) {
	t.Helper()
	b, err := proto.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	c.write(t, opBinary, b)
}

// readFrame reads one server frame.
func (c *rawWS) readFrame() (op byte, payload []byte, err error) {
	h, err := readHeader(c.br)
	if err != nil {
		return 0, nil, err
	}
	payload = make([]byte, h.Length)
	_, err = io.ReadFull(c.br, payload)
	return h.Op, payload, err
}

// readHeader reads one frame header.
func readHeader(br *bufio.Reader) (wsframe.Header, error) {
	h, n, err := wsframe.PeekHeader(br)
	if err != nil {
		return h, err
	}
	_, err = br.Discard(n)
	return h, err
}

// readUntilClose reads server frames until a close frame (it does not answer
// it) and returns the close code and the last Error frame.
func (c *rawWS) readUntilClose(t testing.TB) (uint16, *pb.Error) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var last *pb.Error
	for {
		op, p, err := c.readFrame()
		if err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		switch op {
		case opClose:
			if len(p) < 2 {
				return 0, last
			}
			code, _, _ := wsframe.ParseClose(p)
			return code, last
		case opBinary:
			var f pb.ServerFrame
			if err := proto.Unmarshal(p, &f); err != nil {
				t.Fatalf("server frame: %v", err)
			}
			if e := f.GetError(); e != nil {
				last = e
			}
		}
	}
}

func joinFrame(room string) *pb.ClientFrame {
	return &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: room, Name: "t"}}}
}

// TestFloodIsDroppedThenClosed floods a joined connection with each kind of
// frame. The first ClientBurst frames are taken; then each frame is dropped
// and the next waits for its token (and is taken) until FloodDrops are
// dropped; one more drop closes the connection with RATE_LIMITED.
func TestFloodIsDroppedThenClosed(t *testing.T) {
	const burst, floodDrops = 10, 30
	ping, _ := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Ping{Ping: &pb.Ping{ClientTimeUs: 1}}})
	input, _ := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Input{Input: &pb.Input{Seq: 1, Values: []uint64{2}}}})
	for _, tc := range []struct {
		name     string
		op       byte
		payload  []byte
		answered bool // each frame taken gets a pong
	}{
		{"protocol pings", opBinary, ping, true},
		{"inputs", opBinary, input, false},
		{"websocket pings", opPing, []byte("hi"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, base := startServer(t, Config{OpenRooms: true, ClientRate: 100, ClientBurst: burst, FloodDrops: floodDrops, FloodWindow: time.Minute})
			c := dialRawWS(t, base)
			c.writeFrame(t, joinFrame("flood"))
			var flood []byte
			for range 100 {
				flood = appendClientFrame(flood, tc.op, tc.payload)
			}
			if _, err := c.Write(flood); err != nil {
				t.Fatal(err)
			}
			// Answers (pongs) come for the frames taken, then the Error and the close.
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			answered := 0
			var code uint16
			var last *pb.Error
			for code == 0 {
				op, p, err := c.readFrame()
				if err != nil {
					t.Fatalf("no close: %v", err)
				}
				var f pb.ServerFrame
				switch {
				case op == opPong:
					answered++
				case op == opClose:
					code, _, _ = wsframe.ParseClose(p)
				case proto.Unmarshal(p, &f) == nil && f.GetPong() != nil:
					answered++
				case f.GetError() != nil:
					last = f.GetError()
				}
			}
			if last.GetCode() != pb.ErrorCode_ERROR_CODE_RATE_LIMITED || code != CloseCode(pb.ErrorCode_ERROR_CODE_RATE_LIMITED) || code != 4013 {
				t.Fatalf("flood: error %v, close %d; want RATE_LIMITED and 4013", last, code)
			}
			// The burst (less the join) is taken, then a frame per token; a
			// dropped frame is never answered.
			st := srv.Stats()
			if tc.answered && (answered < burst-1 || 1+answered+int(st.FramesRateLimited) > 1+len(flood)/len(appendClientFrame(nil, tc.op, tc.payload))) {
				t.Fatalf("%d frames answered and %d dropped of 100; want at least the burst of %d less the join, and no dropped frame answered",
					answered, st.FramesRateLimited, burst)
			}
			if st.RateLimitedConns != 1 || st.FramesRateLimited < floodDrops+1 || st.FramesRateLimited > floodDrops+3 {
				t.Fatalf("stats %+v: want 1 connection closed and %d frames dropped", st, floodDrops+1)
			}
			if st.FramesIn < burst+floodDrops+1 {
				t.Fatalf("frames_in %d: fewer than were charged", st.FramesIn)
			}
		})
	}
}

// TestPoliteClientIsNotLimited sends under its rate, every kind of frame,
// three times its burst in all, and is never dropped; every frame is counted.
func TestPoliteClientIsNotLimited(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true, ClientRate: 50, ClientBurst: 20})
	c := dialRawWS(t, base)
	c.writeFrame(t, joinFrame("polite"))
	const n = 60
	for i := range n {
		// 40 a second: the burst absorbs the server reading half a second
		// late on a loaded machine.
		time.Sleep(25 * time.Millisecond)
		if i%3 == 0 {
			c.write(t, opPing, nil)
		} else {
			c.writeFrame(t, &pb.ClientFrame{Body: &pb.ClientFrame_Ping{Ping: &pb.Ping{ClientTimeUs: uint64(i)}}})
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	answered := 0
	for answered < n {
		op, p, err := c.readFrame()
		if err != nil {
			t.Fatalf("after %d answers: %v", answered, err)
		}
		var f pb.ServerFrame
		if op == opPong || (op == opBinary && proto.Unmarshal(p, &f) == nil && f.GetPong() != nil) {
			answered++
		}
		if op == opClose {
			t.Fatalf("closed with % x", p)
		}
	}
	if st := srv.Stats(); st.FramesRateLimited != 0 || st.FramesIn != n+1 {
		t.Fatalf("stats %+v: want %d frames in, none dropped", st, n+1)
	}
}

func TestFrameTooLargeIsCounted(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true})
	// Over ReadLimit: an Error frame says so.
	a := dialRawWS(t, base)
	a.write(t, opBinary, make([]byte, 5000))
	if code, e := a.readUntilClose(t); code != 4012 || e.GetCode() != pb.ErrorCode_ERROR_CODE_FRAME_TOO_LARGE {
		t.Fatalf("5000-byte frame: close %d, error %v; want 4012 FRAME_TOO_LARGE", code, e)
	}
	// Over the socket's hard cap the frame is not even read: close 1009.
	b := dialRawWS(t, base)
	b.write(t, opBinary, make([]byte, 100<<10))
	if code, _ := b.readUntilClose(t); code != closeMessageTooLarge {
		t.Fatalf("100 KiB frame: close %d, want %d", code, closeMessageTooLarge)
	}
	_ = a.Close()
	_ = b.Close()
	waitUntil(t, "both connections closed", func() bool { return srv.Stats().Connections == 0 })
	if st := srv.Stats(); st.FramesTooLarge != 2 {
		t.Fatalf("frames_too_large %d, want 2", st.FramesTooLarge)
	}
}

// TestHandshakeTimeoutIsCountedOnce has a client that never joins and never
// answers the close: its session lingers for the close wait while the
// janitor keeps looking at it, and still counts as one timeout, one error.
func TestHandshakeTimeoutIsCountedOnce(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true, HandshakeTimeout: 100 * time.Millisecond})
	c := dialRawWS(t, base)
	code, e := c.readUntilClose(t)
	if code != 4006 || e.GetCode() != pb.ErrorCode_ERROR_CODE_HANDSHAKE_TIMEOUT {
		t.Fatalf("close %d, error %v; want 4006 HANDSHAKE_TIMEOUT", code, e)
	}
	waitUntil(t, "server gave up waiting for the close reply", func() bool { return srv.Stats().Connections == 0 })
	if st := srv.Stats(); st.HandshakeTimeouts != 1 || st.Errors != 1 {
		t.Fatalf("handshake_timeouts %d, errors %d; want 1 and 1", st.HandshakeTimeouts, st.Errors)
	}
}

// upgrade sends a WebSocket upgrade with extra header lines and returns the
// response status and, for a refusal, its body.
func upgrade(t *testing.T, base, extra string) (int, string) {
	t.Helper()
	_, _, resp := sendUpgrade(t, base, extra)
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp.StatusCode, ""
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestMaxConnsPerIP(t *testing.T) {
	for _, tc := range []struct {
		name     string
		limit    int
		loopback bool // limit loopback peers (the test's) too
		open     int
		refused  bool
	}{
		{"3", 3, true, 3, true},
		{"default", 0, true, 64, true},
		{"no limit", -1, true, 80, false},
		{"loopback exempt", 3, false, 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, base := startServer(t, Config{OpenRooms: true, MaxConnsPerIP: tc.limit, LimitLoopback: tc.loopback, HandshakeTimeout: time.Minute})
			conns := make([]*rawClient, tc.open)
			for i := range conns {
				conns[i] = dial(t, base)
			}
			status, body := upgrade(t, base, "")
			if !tc.refused {
				if status != http.StatusSwitchingProtocols {
					t.Fatalf("connection %d: %d %s; want it upgraded", tc.open+1, status, body)
				}
				return
			}
			if status != http.StatusTooManyRequests || !strings.Contains(body, "too many connections from your address") {
				t.Fatalf("connection %d: %d %q; want 429 saying why", tc.open+1, status, body)
			}
			// The server counts a connection just after its 101 went out.
			waitUntil(t, "connections counted", func() bool { return srv.Stats().Connections == int64(tc.open) })
			if st := srv.Stats(); st.RefusedPerIP != 1 {
				t.Fatalf("stats %+v: want 1 refused", st)
			}
			// A closed connection gives its slot back, and the new one plays.
			_ = conns[0].conn.NetConn().Close()
			waitUntil(t, "slot released", func() bool { return srv.Stats().Connections == int64(tc.open-1) })
			c := dial(t, base)
			c.join(t, "after")
			c.firstWelcome(t)
		})
	}
}

func TestOriginAllowlist(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true, AllowedOrigins: []string{"https://game.example.com", "*.example.org"}})
	refused := 0
	for origin, want := range map[string]int{
		"":                              http.StatusSwitchingProtocols, // not a browser
		"https://game.example.com":      http.StatusSwitchingProtocols,
		"http://a.example.org":          http.StatusSwitchingProtocols,
		"https://evil.example":          http.StatusForbidden,
		"http://game.example.com":       http.StatusForbidden,
		"https://evil.net#.example.org": http.StatusForbidden, // a fragment, not a subdomain
	} {
		extra := ""
		if origin != "" {
			extra = "Origin: " + origin + "\r\n"
		}
		status, body := upgrade(t, base, extra)
		if status != want {
			t.Errorf("origin %q: %d %q, want %d", origin, status, body, want)
		}
		if status == http.StatusForbidden {
			refused++
			if !strings.Contains(body, origin) {
				t.Errorf("origin %q refused with %q: the body should name it", origin, body)
			}
		}
	}
	if st := srv.Stats(); st.RefusedOrigin != uint64(refused) {
		t.Fatalf("refused_origin %d, want %d", st.RefusedOrigin, refused)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
