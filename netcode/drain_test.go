package netcode

import (
	"context"
	"testing"
	"time"

	"github.com/tickwire/tickwire/game"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// TestDrain drains a server with a running match, a match about to end, a
// room still waiting for players and a connection that has not joined, then
// shuts it down: the waiting room and the late join are refused at once, a
// player who dropped takes its seat back, the short match ends normally, the
// long one with SHUTDOWN and "going away".
func TestDrain(t *testing.T) {
	srv, base := startServer(t, Config{TickRate: 50, OpenRooms: true})
	rooms := map[string]game.Rules{
		"long":    {MaxPlayers: 2, MinPlayers: 1},
		"short":   {MaxPlayers: 2, MinPlayers: 1, DurationTicks: 100},
		"waiting": {MaxPlayers: 2, MinPlayers: 2},
	}
	clients := map[string]*rawClient{}
	var resume string
	for id, r := range rooms {
		if err := srv.CreateRoom(id, &r); err != nil {
			t.Fatal(err)
		}
		clients[id] = dial(t, base)
		clients[id].join(t, id)
		if w := clients[id].firstWelcome(t); id == "long" {
			resume = w.ResumeToken
		}
	}
	other := dial(t, base) // a second player of the long match
	other.join(t, "long")
	other.firstWelcome(t)
	for !phaseIs(srv, "long", game.PhaseRunning) || !phaseIs(srv, "short", game.PhaseRunning) {
		time.Sleep(5 * time.Millisecond)
	}
	late := dial(t, base)
	before := srv.TickStats()

	srv.Drain()
	if !srv.Draining() {
		t.Fatal("not draining after Drain")
	}
	late.join(t, "long")
	if code, e := late.waitClose(t); e == nil || e.Code != pb.ErrorCode_ERROR_CODE_SERVER_SHUTDOWN || code != CloseCode(e.Code) {
		t.Fatalf("join while draining: error %v, close %d", e, code)
	}
	if code, end := clients["waiting"].waitEnd(t); code != closeGoingAway || end.Reason != pb.MatchEndReason_MATCH_END_REASON_SHUTDOWN {
		t.Fatalf("waiting room on drain: close %d, match end %v", code, end)
	}
	if code, end := clients["short"].waitEnd(t); code != closeNormal || end.Reason != pb.MatchEndReason_MATCH_END_REASON_TIME_LIMIT {
		t.Fatalf("short match during the drain: close %d, match end %v", code, end)
	}
	select {
	case <-clients["long"].closed:
		t.Fatal("the running match was ended by Drain")
	default:
	}
	held := srv.Stats().SeatsHeld
	_ = clients["long"].conn.NetConn().Close()
	for srv.Stats().SeatsHeld == held {
		time.Sleep(5 * time.Millisecond)
	}
	back := dial(t, base)
	back.send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: "long", ResumeToken: resume}}})
	if w := back.firstWelcome(t); !w.Resumed {
		t.Fatalf("rejoin while draining: welcome %v, want the held seat back", w)
	}
	clients["long"] = back
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	if err := srv.WaitRooms(ctx); err == nil {
		t.Fatal("WaitRooms returned with a match still running")
	}
	cancel()

	if err := srv.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*rawClient{clients["long"], other} {
		if code, end := c.waitEnd(t); code != closeGoingAway || end.Reason != pb.MatchEndReason_MATCH_END_REASON_SHUTDOWN {
			t.Fatalf("long match at shutdown: close %d, match end %v", code, end)
		}
	}
	if err := srv.WaitRooms(t.Context()); err != nil {
		t.Fatal(err)
	}
	after := srv.TickStats()
	if after.Ticks <= before.Ticks || after.Histogram.Count() != after.Ticks {
		t.Fatalf("ticks %d before, %d after the rooms ended; histogram counts %d", before.Ticks, after.Ticks, after.Histogram.Count())
	}
	if st := srv.Stats(); st.Connections != 0 {
		t.Fatalf("%d connections open after Shutdown", st.Connections)
	}
}

func phaseIs(srv *Server, room string, p game.Phase) bool {
	for _, r := range srv.Rooms() {
		if r.ID == room {
			return r.Phase == p
		}
	}
	return false
}

// waitEnd waits for the close and returns its code and the MatchEnd before it.
func (c *rawClient) waitEnd(t *testing.T) (uint16, *pb.MatchEnd) {
	t.Helper()
	code, _ := c.waitClose(t)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.frames {
		if e := f.GetMatchEnd(); e != nil {
			return code, e
		}
	}
	t.Fatalf("closed with %d and no MatchEnd", code)
	return 0, nil
}

// TestEndRoom ends one running match and leaves the others: once it returns
// the room is gone, its player gets MatchEnd SHUTDOWN and "going away", and
// a room that is not there is reported so.
func TestEndRoom(t *testing.T) {
	srv, base := startServer(t, Config{TickRate: 50, OpenRooms: true})
	players := map[string]*rawClient{}
	for _, id := range []string{"demo-1", "other"} {
		if err := srv.CreateRoom(id, &game.Rules{MaxPlayers: 2, MinPlayers: 1}); err != nil {
			t.Fatal(err)
		}
		players[id] = dial(t, base)
		players[id].join(t, id)
		players[id].firstWelcome(t)
	}
	if ended, err := srv.EndRoom(t.Context(), "demo-1"); !ended || err != nil {
		t.Fatalf("EndRoom of a running room: %v, %v", ended, err)
	}
	if n := len(srv.Rooms()); n != 1 {
		t.Fatalf("%d rooms once EndRoom returned; want 1", n)
	}
	if code, end := players["demo-1"].waitEnd(t); code != closeGoingAway || end.Reason != pb.MatchEndReason_MATCH_END_REASON_SHUTDOWN {
		t.Fatalf("ended room: close %d, match end %v; want going away and SHUTDOWN", code, end)
	}
	if r := srv.Rooms()[0]; r.ID != "other" {
		t.Fatalf("room %s left; want other", r.ID)
	}
	for _, id := range []string{"demo-1", "nope"} {
		if ended, err := srv.EndRoom(t.Context(), id); ended || err != nil {
			t.Fatalf("EndRoom(%s), not running: %v, %v", id, ended, err)
		}
	}
}
