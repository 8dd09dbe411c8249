package netcode

import (
	"testing"
	"time"

	"github.com/tickwire/tickwire/game"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// A client closed by the idle timeout counts as dropped: its seat is held and
// its token, sent in a bare Join, gets the same player back.
func TestIdleTimeoutHoldsSeat(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true, PingInterval: 50 * time.Millisecond, IdleTimeout: 300 * time.Millisecond, RejoinGrace: time.Minute})
	c := dialSilent(t, base)
	c.join(t, "quiet")
	w := c.firstWelcome(t)
	if code, e := c.rawClient.waitClose(t); e.GetCode() != pb.ErrorCode_ERROR_CODE_IDLE_TIMEOUT || code != 4007 {
		t.Fatalf("silent client closed with %v and %d, want IDLE_TIMEOUT", e, code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for srv.Stats().SeatsHeld != 1 {
		if time.Now().After(deadline) {
			t.Fatal("no seat held after the idle timeout")
		}
		time.Sleep(5 * time.Millisecond)
	}

	back := dial(t, base)
	back.send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: "quiet", ResumeToken: w.ResumeToken}}})
	again := back.firstWelcome(t)
	if again.PlayerId != w.PlayerId || again.EntityId != w.EntityId || !again.Resumed || again.ResumeToken != w.ResumeToken || again.Snapshot == nil {
		t.Fatalf("resume welcome %v, want player %d entity %d resumed with a snapshot", again, w.PlayerId, w.EntityId)
	}
}

func TestResumeToken(t *testing.T) {
	a, b := newResumeToken(7), newResumeToken(7)
	if a == b {
		t.Fatal("two tokens for one seat are equal")
	}
	if pid, ok := resumeTokenPlayer(a); !ok || pid != 7 {
		t.Fatalf("token %q names player %d (%v), want 7", a, pid, ok)
	}
	for _, bad := range []string{"", "7", "7.", "x." + a[2:], "7." + a[2:] + "A", "-1." + a[2:]} {
		if _, ok := resumeTokenPlayer(bad); ok {
			t.Errorf("malformed token %q accepted", bad)
		}
	}
}

// A rejoined session that drops before its Welcome went out leaves the seat
// held: its client still has the token from the earlier connection.
func TestDropBeforeResumeWelcomeKeepsSeat(t *testing.T) {
	srv, err := NewServer(withArena(Config{OpenRooms: true, RejoinGrace: time.Minute}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	h, _, err := srv.rooms.getOrCreate("r", nil)
	if err != nil {
		t.Fatal(err)
	}
	sessions := loopbackSessions(t, srv.env, 3, false)
	first, second, fresh := sessions[0], sessions[1], sessions[2]
	type outcome struct {
		seated, disconnected, freshSeated bool
	}
	done := make(chan outcome, 1)
	h.room.Do(func(sim *game.Sim) {
		h.join(sim, first, game.JoinRequest{Name: "ann"})
		first.welcomed = true // as if the Welcome went out
		pid := first.playerID()
		h.drop(sim, first, false)
		h.resume(sim, second, h.seats[pid].token)
		h.drop(sim, second, false) // before the next tick's Welcome
		h.join(sim, fresh, game.JoinRequest{Name: "bob"})
		h.drop(sim, fresh, false) // never welcomed: it has no token to come back with
		p := sim.World().Player(pid)
		done <- outcome{seated: p != nil, disconnected: p != nil && p.Disconnected, freshSeated: sim.World().Player(fresh.playerID()) != nil}
	})
	select {
	case o := <-done:
		if !o.seated || !o.disconnected || o.freshSeated {
			t.Fatalf("after the drops: ann seated %v, disconnected %v; bob seated %v; want true, true, false", o.seated, o.disconnected, o.freshSeated)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("room did not run the calls")
	}
}
