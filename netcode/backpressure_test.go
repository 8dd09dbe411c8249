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
	"github.com/tickwire/tickwire/game/arena"
	"github.com/tickwire/tickwire/netcode"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

func serve(t *testing.T, cfg netcode.Config) (*netcode.Server, string) {
	t.Helper()
	if cfg.NewGame == nil {
		cfg.NewGame = func(string) game.Game { return arena.New(arena.Config{}) }
	}
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
	maxFrame  int // largest message payload read
}

func (c *mirrorClient) OnMessage(conn *gws.Conn, m *gws.Message) {
	defer m.Close()
	var f pb.ServerFrame
	if err := proto.Unmarshal(m.Bytes(), &f); err != nil {
		panic(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.maxFrame = max(c.maxFrame, m.Data.Len())
	var err error
	switch b := f.Body.(type) {
	case *pb.ServerFrame_Welcome:
		sch, serr := bots.NewSchema(b.Welcome.Schema)
		if serr != nil {
			panic(serr)
		}
		c.mirror.SetSchema(sch)
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
		NewGame: func(string) game.Game { return arena.New(arena.Config{NPCs: 3000}) },
	})
	healthy, err := bots.Dial(t.Context(), bots.Config{URL: "ws://" + addr, RoomID: "bp", Name: "healthy"})
	if err != nil {
		t.Fatal(err)
	}
	defer healthy.Close()

	stalled, conn := dialStalled(t, addr, "bp")

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

// dialStalled joins room with a client that does not read until the test
// starts conn.ReadLoop: a tiny receive buffer so the server's writes back up
// quickly.
func dialStalled(t *testing.T, addr, room string) (*mirrorClient, *gws.Conn) {
	t.Helper()
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
	t.Cleanup(func() { _ = conn.NetConn().Close() })
	join, _ := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: room, Name: "stalled"}}})
	if err := conn.WriteMessage(gws.OpcodeBinary, join); err != nil {
		t.Fatal(err)
	}
	return stalled, conn
}

// TestStalledReaderIsDropped has a client stop reading for good. While it is
// behind, what the server holds for it stays within MaxPending frames; after
// SlowConsumerTimeout it is dropped and counted, and the room ticks on for
// the healthy client, which misses nothing.
func TestStalledReaderIsDropped(t *testing.T) {
	const maxPending = 8
	srv, addr := serve(t, netcode.Config{
		OpenRooms: true, TickRate: 50, MaxPending: maxPending, NoDeflate: true,
		// Behind for 300ms is too slow; a write blocked for 3s would end it
		// anyway, later and counted as a write timeout. Big frames (thousands
		// of moving orbs) at 50 Hz fill the socket buffers fast.
		SlowConsumerTimeout: 300 * time.Millisecond, WriteTimeout: 3 * time.Second,
		NewGame: func(string) game.Game { return arena.New(arena.Config{NPCs: 3000}) },
	})
	healthy := &mirrorClient{}
	hc, _, err := gws.NewClient(healthy, &gws.ClientOption{Addr: "ws://" + addr + netcode.Path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hc.NetConn().Close() })
	go hc.ReadLoop()
	join, _ := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: "drop", Name: "healthy"}}})
	if err := hc.WriteMessage(gws.OpcodeBinary, join); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "healthy client joined", func() bool {
		healthy.mu.Lock()
		defer healthy.mu.Unlock()
		return healthy.mirror.Synced()
	})
	dialStalled(t, addr, "drop")

	var most netcode.Stats
	waitFor(t, "stalled client dropped", func() bool {
		st := srv.Stats()
		most.PendingFrames = max(most.PendingFrames, st.PendingFrames)
		most.PendingBytes = max(most.PendingBytes, st.PendingBytes)
		return st.SlowConsumers == 1 && st.Connections == 1
	})
	healthy.mu.Lock()
	deltas, biggest := healthy.deltas, healthy.maxFrame
	healthy.mu.Unlock()
	// Queued frames and the one partly written; each at most as big as the
	// biggest frame the healthy client read (the welcome's snapshot), plus
	// its header.
	t.Logf("stalled client: at most %d frames, %d bytes pending (frames up to %d bytes)", most.PendingFrames, most.PendingBytes, biggest)
	if most.PendingFrames == 0 || most.PendingFrames > maxPending+1 || most.PendingBytes > int64((maxPending+1)*(biggest+14)) {
		t.Fatalf("pending for the stalled client peaked at %d frames, %d bytes; want 1 to %d frames of at most %d bytes",
			most.PendingFrames, most.PendingBytes, maxPending+1, biggest+14)
	}
	if st := srv.Stats(); st.PendingFrames != 0 || st.PendingBytes != 0 {
		t.Fatalf("%d frames, %d bytes still pending after the drop", st.PendingFrames, st.PendingBytes)
	}
	waitFor(t, "room ticking on", func() bool {
		healthy.mu.Lock()
		defer healthy.mu.Unlock()
		return healthy.deltas > deltas+20
	})
	healthy.mu.Lock()
	defer healthy.mu.Unlock()
	if healthy.desyncs != 0 || healthy.snapshots != 0 {
		t.Fatalf("healthy client: %d desyncs, %d snapshots; it should not notice the stalled one", healthy.desyncs, healthy.snapshots)
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
