package netcode_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/netcode"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

func serve(t *testing.T, cfg netcode.Config) (*netcode.Server, string) {
	t.Helper()
	srv, err := netcode.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(netcode.Path, srv)
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		_ = hs.Close()
		_ = srv.Shutdown(context.Background())
	})
	return srv, ln.Addr().String()
}

// mirrorClient is a gws client whose read loop the test starts late, to play a
// client that stops reading; it applies what it reads to a bots.Mirror.
type mirrorClient struct {
	gws.BuiltinEventHandler
	mu        sync.Mutex
	mirror    bots.Mirror
	deltas    int
	snapshots int
	desyncs   int
}

func (c *mirrorClient) OnMessage(conn *gws.Conn, m *gws.Message) {
	defer m.Close()
	var f pb.ServerFrame
	if err := proto.Unmarshal(m.Bytes(), &f); err != nil {
		panic(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	switch b := f.Body.(type) {
	case *pb.ServerFrame_Welcome:
		c.mirror.SetSelf(b.Welcome.PlayerId, b.Welcome.EntityId)
		err = c.mirror.ApplySnapshot(b.Welcome.Snapshot)
	case *pb.ServerFrame_Snapshot:
		c.snapshots++
		err = c.mirror.ApplySnapshot(b.Snapshot)
	case *pb.ServerFrame_Delta:
		c.deltas++
		err = c.mirror.ApplyDelta(b.Delta)
	}
	if err != nil {
		c.desyncs++
	}
}

// TestStalledReaderIsResyncedAndOthersUnaffected has one client stop reading
// while another plays on. The stalled client's queue overflows, its pending
// frames are dropped, and when it reads again it is caught up and its mirror is
// in sync. The healthy client misses nothing.
func TestStalledReaderIsResyncedAndOthersUnaffected(t *testing.T) {
	srv, addr := serve(t, netcode.Config{
		OpenRooms: true, TickRate: 50, MaxPending: 16,
		SlowConsumerTimeout: time.Minute, NoDeflate: true,
		// Big frames (thousands of moving orbs) fill the socket buffers fast.
		NewGame: func(string) game.Game { return game.NewArena(game.ArenaConfig{NPCs: 3000}) },
	})
	healthy, err := bots.Dial(t.Context(), bots.Config{URL: "ws://" + addr, RoomID: "bp", Name: "healthy"})
	if err != nil {
		t.Fatal(err)
	}
	defer healthy.Close()

	// The stalled client: a tiny receive buffer so the server's writes back up
	// quickly, and no read loop until the test says so.
	d := net.Dialer{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		if err != nil {
			return err
		}
		return serr
	}}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	stalled := &mirrorClient{}
	conn, _, err := gws.NewClientFromConn(stalled, &gws.ClientOption{Addr: "ws://" + addr + netcode.Path}, raw)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.NetConn().Close()
	join, _ := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 1, RoomId: "bp", Name: "stalled"}}})
	if err := conn.WriteMessage(gws.OpcodeBinary, join); err != nil {
		t.Fatal(err)
	}

	waitFor(t, "frames dropped for the stalled client", func() bool { return srv.Stats().FramesDropped > 0 })
	resyncsBefore := srv.Stats().Resyncs
	go conn.ReadLoop()
	waitFor(t, "stalled client caught up", func() bool {
		stalled.mu.Lock()
		defer stalled.mu.Unlock()
		return srv.Stats().Resyncs > resyncsBefore && stalled.mirror.Synced() && stalled.deltas > 50
	})

	stalled.mu.Lock()
	desyncs := stalled.desyncs
	stalled.mu.Unlock()
	if desyncs != 0 {
		t.Fatalf("stalled client had %d desyncs after catching up; the catch-up frame did not fit its state", desyncs)
	}
	// The healthy client may miss only the tick numbers the room itself skipped
	// (a loaded test machine can stall the room), never a frame it produced.
	skipped := srv.RoomStats()["bp"].Skipped
	st := healthy.Stats()
	if st.Desyncs != 0 || uint64(st.FramesMissed) > skipped || st.Updates < 100 {
		t.Fatalf("healthy client: %d desyncs, %d frames missed (room skipped %d), %d updates; it should not notice the stalled one",
			st.Desyncs, st.FramesMissed, skipped, st.Updates)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
