package netcode

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"

	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// startServer runs a Server on a loopback port and returns its ws base URL.
func startServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	srv, err := NewServer(withArena(cfg))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, srv)
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		_ = hs.Close()
		_ = srv.Shutdown(t.Context())
	})
	return srv, "ws://" + ln.Addr().String()
}

// rawClient is a bare protocol client for testing refusals: it records every
// ServerFrame and the close code.
type rawClient struct {
	gws.BuiltinEventHandler
	conn   *gws.Conn
	mu     sync.Mutex
	frames []*pb.ServerFrame
	pings  int
	closed chan struct{}
	code   uint16
}

func dial(t *testing.T, base string) *rawClient {
	t.Helper()
	c := &rawClient{closed: make(chan struct{})}
	conn, _, err := gws.NewClient(c, &gws.ClientOption{
		Addr:              base + Path,
		PermessageDeflate: gws.PermessageDeflate{Enabled: true},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.conn = conn
	go conn.ReadLoop()
	t.Cleanup(func() { _ = conn.NetConn().Close() })
	return c
}

func (c *rawClient) OnMessage(conn *gws.Conn, m *gws.Message) {
	defer m.Close()
	var f pb.ServerFrame
	if err := proto.Unmarshal(m.Bytes(), &f); err != nil {
		panic(err)
	}
	c.mu.Lock()
	c.frames = append(c.frames, &f)
	c.mu.Unlock()
}

func (c *rawClient) OnClose(conn *gws.Conn, err error) {
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		c.code = ce.Code
	}
	close(c.closed)
}

func (c *rawClient) send(t *testing.T, f *pb.ClientFrame) {
	t.Helper()
	b, err := proto.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.conn.WriteMessage(gws.OpcodeBinary, b); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func (c *rawClient) join(t *testing.T, room string) {
	t.Helper()
	c.send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: room, Name: "t"}}})
}

// waitClose waits for the close and returns its code and the last Error frame.
func (c *rawClient) waitClose(t *testing.T) (uint16, *pb.Error) {
	t.Helper()
	select {
	case <-c.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("connection not closed within 10s")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var last *pb.Error
	for _, f := range c.frames {
		if e := f.GetError(); e != nil {
			last = e
		}
	}
	return c.code, last
}

// firstWelcome waits for the welcome frame.
func (c *rawClient) firstWelcome(t *testing.T) *pb.Welcome {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, f := range c.frames {
			if w := f.GetWelcome(); w != nil {
				c.mu.Unlock()
				return w
			}
		}
		c.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no welcome within 5s")
	return nil
}

func TestRefusals(t *testing.T) {
	_, open := startServer(t, Config{OpenRooms: true, HandshakeTimeout: 300 * time.Millisecond, Rules: gameRules(1)})
	_, closed := startServer(t, Config{})
	_, ticketed := startServer(t, Config{Admit: func(ticket, room string) (Admission, error) {
		switch ticket {
		case "elsewhere":
			return Admission{}, ErrRoomElsewhere
		case "good-" + room:
			return Admission{RoomID: room, Account: "acct-1", Name: "Ann", Rules: gameRules(4)}, nil
		}
		return Admission{}, errors.New("bad signature")
	}})
	ticketJoin := func(room, ticket string) func(t *testing.T, c *rawClient) {
		return func(t *testing.T, c *rawClient) {
			c.send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: room, Ticket: ticket}}})
		}
	}
	tests := []struct {
		name string
		base string
		act  func(t *testing.T, c *rawClient)
		code pb.ErrorCode
	}{
		{"text frame", open, func(t *testing.T, c *rawClient) {
			_ = c.conn.WriteMessage(gws.OpcodeText, []byte("hello"))
		}, pb.ErrorCode_ERROR_CODE_BAD_FRAME},
		{"not protobuf", open, func(t *testing.T, c *rawClient) {
			_ = c.conn.WriteMessage(gws.OpcodeBinary, []byte{0xff, 0xff, 0xff})
		}, pb.ErrorCode_ERROR_CODE_BAD_FRAME},
		{"empty body", open, func(t *testing.T, c *rawClient) {
			c.send(t, &pb.ClientFrame{})
		}, pb.ErrorCode_ERROR_CODE_BAD_FRAME},
		{"wrong version", open, func(t *testing.T, c *rawClient) {
			c.send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 9, RoomId: "r"}}})
		}, pb.ErrorCode_ERROR_CODE_UNSUPPORTED_VERSION},
		{"bad room id", open, func(t *testing.T, c *rawClient) { c.join(t, "no spaces allowed") },
			pb.ErrorCode_ERROR_CODE_BAD_FRAME},
		{"unknown room", closed, func(t *testing.T, c *rawClient) { c.join(t, "nowhere") },
			pb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND},
		{"too large", open, func(t *testing.T, c *rawClient) {
			c.send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: "r", Ticket: strings.Repeat("x", 5000)}}})
		}, pb.ErrorCode_ERROR_CODE_FRAME_TOO_LARGE},
		{"no join", open, func(t *testing.T, c *rawClient) {}, pb.ErrorCode_ERROR_CODE_HANDSHAKE_TIMEOUT},
		{"forged ticket", ticketed, ticketJoin("r1", "forged"), pb.ErrorCode_ERROR_CODE_UNAUTHORIZED},
		{"ticket for another room", ticketed, ticketJoin("r1", "good-r2"), pb.ErrorCode_ERROR_CODE_UNAUTHORIZED},
		{"ticket for another node", ticketed, ticketJoin("r1", "elsewhere"), pb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND},
		{"no ticket", ticketed, func(t *testing.T, c *rawClient) { c.join(t, "r1") }, pb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND},
		{"ticket to an open server", open, ticketJoin("r1", "good-r1"), pb.ErrorCode_ERROR_CODE_UNAUTHORIZED},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, tc.base)
			tc.act(t, c)
			code, e := c.waitClose(t)
			if e == nil || e.Code != tc.code {
				t.Fatalf("error frame %v, want code %v", e, tc.code)
			}
			if code != CloseCode(tc.code) {
				t.Fatalf("close code %d, want %d", code, CloseCode(tc.code))
			}
			if e.Message == "" {
				t.Fatal("error frame has no message")
			}
		})
	}
}

func TestRoomFull(t *testing.T) {
	_, base := startServer(t, Config{OpenRooms: true, Rules: gameRules(1)})
	a := dial(t, base)
	a.join(t, "duel")
	a.firstWelcome(t)
	b := dial(t, base)
	b.join(t, "duel")
	code, e := b.waitClose(t)
	if e == nil || e.Code != pb.ErrorCode_ERROR_CODE_ROOM_FULL || code != 4004 {
		t.Fatalf("second join into a 1-seat room: error %v close %d, want ROOM_FULL and 4004", e, code)
	}
}

// silentClient never answers the server's pings.
type silentClient struct{ rawClient }

func (c *silentClient) OnPing(conn *gws.Conn, payload []byte) {
	c.mu.Lock()
	c.pings++
	c.mu.Unlock()
}

// dialSilent connects a silentClient to base; the test's end closes it.
func dialSilent(t *testing.T, base string) *silentClient {
	t.Helper()
	c := &silentClient{rawClient{closed: make(chan struct{})}}
	conn, _, err := gws.NewClient(c, &gws.ClientOption{Addr: base + Path})
	if err != nil {
		t.Fatal(err)
	}
	c.conn = conn
	go conn.ReadLoop()
	t.Cleanup(func() { _ = conn.NetConn().Close() })
	return c
}

func TestKeepaliveAndIdleTimeout(t *testing.T) {
	_, base := startServer(t, Config{OpenRooms: true, PingInterval: 100 * time.Millisecond, IdleTimeout: 600 * time.Millisecond})
	c := dialSilent(t, base)
	c.join(t, "quiet")
	c.firstWelcome(t)
	code, e := c.rawClient.waitClose(t)
	if e == nil || e.Code != pb.ErrorCode_ERROR_CODE_IDLE_TIMEOUT || code != 4007 {
		t.Fatalf("silent client: error %v close %d, want IDLE_TIMEOUT and 4007", e, code)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pings < 2 {
		t.Fatalf("server sent %d pings in 600ms at a 100ms interval", c.pings)
	}
}

func TestPongKeepsClientAlive(t *testing.T) {
	_, base := startServer(t, Config{OpenRooms: true, PingInterval: 50 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	c := dial(t, base) // answers pings, sends nothing else
	c.join(t, "chatty")
	c.firstWelcome(t)
	select {
	case <-c.closed:
		t.Fatalf("client that answers pings was closed with %d", c.code)
	case <-time.After(time.Second):
	}
}

func TestTicketedJoin(t *testing.T) {
	_, base := startServer(t, Config{Admit: func(ticket, room string) (Admission, error) {
		if ticket != "good" {
			return Admission{}, errors.New("bad signature")
		}
		return Admission{RoomID: room, Account: "acct-1", Name: "Ann", Rules: gameRules(3)}, nil
	}})
	send := func(c *rawClient, room, ticket string) {
		c.send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: room, Ticket: ticket, Name: "ignored"}}})
	}
	a := dial(t, base)
	send(a, "lobby-room", "good")
	w := a.firstWelcome(t)
	if w.Match.MaxPlayers != 3 || w.Snapshot.Players[0].Name != "Ann" {
		t.Fatalf("welcome %v: want the admission's rules (3 seats) and name (Ann)", w)
	}
	// The same account may not take a second seat with the same ticket.
	b := dial(t, base)
	send(b, "lobby-room", "good")
	code, e := b.waitClose(t)
	if e == nil || e.Code != pb.ErrorCode_ERROR_CODE_ALREADY_SEATED || code != 4016 {
		t.Fatalf("second seat for one account: error %v close %d, want ALREADY_SEATED 4016", e, code)
	}
	// Without a ticket the room that now exists refuses the join.
	c := dial(t, base)
	c.join(t, "lobby-room")
	if _, e := c.waitClose(t); e == nil || e.Code != pb.ErrorCode_ERROR_CODE_UNAUTHORIZED {
		t.Fatalf("unticketed join to a ticketed room: %v, want UNAUTHORIZED", e)
	}
}
