package netcode

import (
	"errors"
	"strings"
	"testing"
	"time"

	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

func (c *rawClient) joinAs(t *testing.T, room, name string) {
	t.Helper()
	c.send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: room, Name: name}}})
}

// TestJoinNameRule: a hostile display name in a Join is refused with
// BAD_FRAME before it reaches anyone; a long name in a script of 3-byte
// characters is taken whole, as other players see it.
func TestJoinNameRule(t *testing.T) {
	_, base := startServer(t, Config{OpenRooms: true})
	for _, name := range []string{
		"\x1b[31mred", "a\x00b", "two\nlines", "abc\u202Etxt", "ad\u200Bmin", "\uFEFFbom", strings.Repeat("a", 33),
	} {
		c := dial(t, base)
		c.joinAs(t, "names", name)
		code, e := c.waitClose(t)
		if e.GetCode() != pb.ErrorCode_ERROR_CODE_BAD_FRAME || code != CloseCode(pb.ErrorCode_ERROR_CODE_BAD_FRAME) {
			t.Errorf("join as %q: error %v, close %d; want BAD_FRAME", name, e, code)
		}
	}
	long := strings.Repeat("猫", 32) // 96 bytes, 32 characters
	c := dial(t, base)
	c.joinAs(t, "names", "  "+long+"  ")
	w := c.firstWelcome(t)
	var got string
	for _, p := range w.GetSnapshot().GetPlayers() {
		if p.GetId() == w.GetPlayerId() {
			got = p.GetName()
		}
	}
	if got != long {
		t.Fatalf("welcome names the player %q; want %q, trimmed", got, long)
	}
}

// TestMaxRooms: a server running MaxRooms rooms starts no more; a join
// that would start one is refused with ROOM_FULL, the refusal is counted,
// and the server says it is full until a room ends.
func TestMaxRooms(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true, MaxRooms: 2, EmptyRoomTimeout: 50 * time.Millisecond})
	var players []*rawClient
	for _, room := range []string{"one", "two"} {
		c := dial(t, base)
		c.join(t, room)
		c.firstWelcome(t)
		players = append(players, c)
	}
	if !srv.Full() {
		t.Fatal("Full() = false with 2 of 2 rooms")
	}
	c := dial(t, base)
	c.join(t, "three")
	code, e := c.waitClose(t)
	if e.GetCode() != pb.ErrorCode_ERROR_CODE_ROOM_FULL || code != CloseCode(pb.ErrorCode_ERROR_CODE_ROOM_FULL) {
		t.Fatalf("third room: error %v close %d; want ROOM_FULL", e, code)
	}
	if err := srv.CreateRoom("four", nil); !errors.Is(err, ErrFull) {
		t.Fatalf("CreateRoom on a full server: %v; want ErrFull", err)
	}
	// A join into a running room still works.
	again := dial(t, base)
	again.join(t, "one")
	again.firstWelcome(t)
	if st := srv.Stats(); st.RoomsRefused != 2 || st.MaxRooms != 2 || st.Rooms != 2 {
		t.Fatalf("stats rooms %d max %d refused %d; want 2, 2, 2", st.Rooms, st.MaxRooms, st.RoomsRefused)
	}
	// Once a room's players leave, it ends and frees its slot.
	players[1].send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Leave{Leave: &pb.Leave{}}})
	waitUntil(t, "the emptied room ended", func() bool { return !srv.Full() })
	c = dial(t, base)
	c.join(t, "three")
	c.firstWelcome(t)
}

// TestIdleRoomsEndByDefault: with the default timeouts a room nobody joined,
// and a room its players left, stop ticking soon on their own (the default
// config, no test overrides: a node bombarded with such rooms sheds them).
func TestIdleRoomsEndByDefault(t *testing.T) {
	cfg := Config{OpenRooms: true}.withDefaults()
	if cfg.EmptyRoomTimeout > 10*time.Second || cfg.UnjoinedRoomTimeout > 10*time.Second {
		t.Fatalf("default empty-room timeout %v, unjoined %v: want both at most 10s", cfg.EmptyRoomTimeout, cfg.UnjoinedRoomTimeout)
	}
	srv, base := startServer(t, Config{OpenRooms: true})
	if err := srv.CreateRoom("unjoined", nil); err != nil {
		t.Fatal(err)
	}
	c := dial(t, base)
	c.join(t, "left")
	c.firstWelcome(t)
	c.send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Leave{Leave: &pb.Leave{}}})
	waitUntil(t, "both rooms ended", func() bool { return srv.Stats().Rooms == 0 })
}
