package netcode

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// spectateFrame is a spectator's join of room, with ticket if not empty.
func spectateFrame(room, ticket string) *pb.ClientFrame {
	return &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: room, Ticket: ticket, Spectate: true}}}
}

// spectate dials base and joins room as a spectator without a ticket.
func spectate(t *testing.T, base, room string) *rawClient {
	t.Helper()
	c := dial(t, base)
	c.send(t, spectateFrame(room, ""))
	return c
}

// waitFrame waits for the first frame after the first skip that ok accepts.
func (c *rawClient) waitFrame(t *testing.T, what string, skip int, ok func(*pb.ServerFrame) bool) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for i := skip; i < len(c.frames); i++ {
			if ok(c.frames[i]) {
				c.mu.Unlock()
				return i
			}
		}
		c.mu.Unlock()
		select {
		case <-c.closed:
			t.Fatalf("%s: connection closed with %d first", what, c.code)
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatalf("%s: not within 10s", what)
	return 0
}

func roomInfo(srv *Server, id string) (RoomInfo, bool) {
	for _, r := range srv.Rooms() {
		if r.ID == id {
			return r, true
		}
	}
	return RoomInfo{}, false
}

func dialSpectatorBot(t *testing.T, cfg bots.Config) *bots.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := bots.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("dial %s into %s: %v", cfg.Name, cfg.RoomID, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestSpectatorSeesThePlayersState: a spectator's verified mirror holds the
// very state a player's does at the match's last tick, and it never had a
// seat: no player, no entity, no token, not in the room's player count.
func TestSpectatorSeesThePlayersState(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true, TickRate: 50, Rules: game.Rules{MaxPlayers: 4, MinPlayers: 1, DurationTicks: 100}})
	ann := dialSpectatorBot(t, bots.Config{URL: base, RoomID: "r", Name: "ann"})
	spec := dialSpectatorBot(t, bots.Config{URL: base, RoomID: "r", Name: "eve", Spectate: true})

	s := spec.Session()
	if !s.Spectator || s.PlayerID != 0 || s.EntityID != 0 || s.ResumeToken != "" {
		t.Fatalf("spectator's session %+v: want spectator, player 0, entity 0, no resume token", s)
	}
	if a := ann.Session(); a.Spectator || a.PlayerID == 0 {
		t.Fatalf("player's session %+v: want a seat", a)
	}
	info, _ := roomInfo(srv, "r")
	if info.Players != 1 || info.Spectators != 1 {
		t.Fatalf("room %+v: want 1 player and 1 spectator", info)
	}
	if st := srv.Stats(); st.Spectators != 1 || st.SpectatorsTotal != 1 {
		t.Fatalf("stats: %d spectators (%d in all), want 1", st.Spectators, st.SpectatorsTotal)
	}
	for _, c := range []*bots.Client{ann, spec} {
		select {
		case <-c.Done():
		case <-time.After(20 * time.Second):
			t.Fatal("match of 100 ticks did not end within 20s")
		}
	}
	as, ss := ann.Stats(), spec.Stats()
	if ss.MatchEnd == nil || !ss.MatchEnd.Verified || as.MatchEnd == nil || !as.MatchEnd.Verified {
		t.Fatalf("match end: player %+v, spectator %+v: want both verified", as.MatchEnd, ss.MatchEnd)
	}
	if ss.Desyncs != 0 || ss.Deltas < 50 {
		t.Fatalf("spectator: %d desyncs, %d deltas: want 0 and one a tick", ss.Desyncs, ss.Deltas)
	}
	a, sp := ann.State(), spec.State()
	if a.Tick != sp.Tick || !sameState(a, sp) {
		t.Fatalf("at the end the spectator's state (tick %d) differs from the player's (tick %d)", sp.Tick, a.Tick)
	}
	if len(sp.Players) != 1 || sp.Players[0].Name != "ann" {
		t.Fatalf("players in the spectator's state: %+v, want ann alone", sp.Players)
	}
	waitUntil(t, "spectator count back to 0", func() bool { return srv.Stats().Spectators == 0 })
}

// TestSpectatorRefusedInput: an input, a game message or a chat line from a
// spectator gets ERROR_CODE_SPECTATOR and is dropped; the spectator stays
// connected and goes on getting pongs and state.
func TestSpectatorRefusedInput(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true})
	p := dial(t, base)
	p.join(t, "r")
	p.firstWelcome(t)
	c := spectate(t, base, "r")
	c.firstWelcome(t)
	isSpectatorError := func(f *pb.ServerFrame) bool {
		return f.GetError().GetCode() == pb.ErrorCode_ERROR_CODE_SPECTATOR
	}
	frames := []*pb.ClientFrame{
		{Body: &pb.ClientFrame_Input{Input: &pb.Input{Seq: 1, Values: []uint64{1, 1}}}},
		{Body: &pb.ClientFrame_Message{Message: &pb.GameMessage{Op: 1, Data: []byte("x")}}},
		{Body: &pb.ClientFrame_Chat{Chat: &pb.Chat{Text: "hello"}}},
	}
	at := 0
	for i, f := range frames {
		c.send(t, f)
		at = c.waitFrame(t, "ERROR_CODE_SPECTATOR", at, isSpectatorError) + 1
		if got := srv.Stats().SpectatorFramesRefused; got != uint64(i+1) {
			t.Fatalf("%d frames refused, want %d", got, i+1)
		}
	}
	c.send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Ping{Ping: &pb.Ping{ClientTimeUs: 7}}})
	c.waitFrame(t, "pong after the refusals", at, func(f *pb.ServerFrame) bool { return f.GetPong().GetClientTimeUs() == 7 })
	c.waitFrame(t, "a delta after the refusals", at, func(f *pb.ServerFrame) bool { return f.GetDelta() != nil })
	select {
	case <-c.closed:
		t.Fatalf("spectator closed with %d after a refused input", c.code)
	default:
	}
	// Nothing it sent reached the room: no chat line, and the player's
	// input ack never moved.
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.frames {
		if ev := f.GetEvents(); len(ev.GetChat()) > 0 {
			t.Fatalf("the player heard a spectator's chat: %v", ev.GetChat())
		}
		if d := f.GetDelta(); len(d.GetAckSeqs()) > 0 {
			t.Fatalf("a spectator's input was applied to a player: %v", d)
		}
	}
}

// TestSpectatorResync: a spectator's ResyncRequest gets a full snapshot,
// with no player of its own.
func TestSpectatorResync(t *testing.T) {
	_, base := startServer(t, Config{OpenRooms: true})
	p := dial(t, base)
	p.join(t, "r")
	p.firstWelcome(t)
	c := spectate(t, base, "r")
	c.firstWelcome(t)
	c.send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Resync{Resync: &pb.ResyncRequest{}}})
	i := c.waitFrame(t, "snapshot", 1, func(f *pb.ServerFrame) bool { return f.GetSnapshot() != nil })
	c.mu.Lock()
	snap := c.frames[i].GetSnapshot()
	c.mu.Unlock()
	if len(snap.Players) != 1 || snap.LastInputSeq != 0 {
		t.Fatalf("snapshot for a spectator: %d players, last input %d; want the player only and 0", len(snap.Players), snap.LastInputSeq)
	}
}

// TestSpectatorsFull: past MaxSpectators a spectator gets SPECTATORS_FULL
// and close 4019; one leaving lets another in; players are not limited by
// it, and spectators take no seat of a full room.
func TestSpectatorsFull(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true, MaxSpectators: 2, Rules: gameRules(1)})
	p := dial(t, base)
	p.join(t, "r")
	p.firstWelcome(t)
	a, b := spectate(t, base, "r"), spectate(t, base, "r")
	a.firstWelcome(t)
	b.firstWelcome(t)
	c := spectate(t, base, "r")
	code, e := c.waitClose(t)
	if e == nil || e.Code != pb.ErrorCode_ERROR_CODE_SPECTATORS_FULL || code != 4019 {
		t.Fatalf("third spectator of 2: error %v close %d, want SPECTATORS_FULL and 4019", e, code)
	}
	if st := srv.Stats(); st.SpectatorsRefused != 1 || st.Spectators != 2 {
		t.Fatalf("stats: %d refused, %d watching; want 1 and 2", st.SpectatorsRefused, st.Spectators)
	}
	// The one seat is the player's: another player is refused as before.
	q := dial(t, base)
	q.join(t, "r")
	if _, e := q.waitClose(t); e == nil || e.Code != pb.ErrorCode_ERROR_CODE_ROOM_FULL {
		t.Fatalf("second player in a 1-seat room with spectators: %v, want ROOM_FULL", e)
	}
	a.send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Leave{Leave: &pb.Leave{}}})
	if code, _ := a.waitClose(t); code != closeNormal {
		t.Fatalf("spectator's leave: close %d, want 1000", code)
	}
	waitUntil(t, "a spectator's slot freed", func() bool { return srv.Stats().Spectators == 1 })
	d := spectate(t, base, "r")
	d.firstWelcome(t)
	if info, _ := roomInfo(srv, "r"); info.Players != 1 || info.Spectators != 2 {
		t.Fatalf("room %+v: want 1 player and 2 spectators", info)
	}
}

// TestSpectatorTakesNoSeat: a spectator of an empty one-seat room leaves
// the seat to the player who comes after.
func TestSpectatorTakesNoSeat(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true, Rules: gameRules(1)})
	if err := srv.CreateRoom("r", nil); err != nil {
		t.Fatal(err)
	}
	s := spectate(t, base, "r")
	w := s.firstWelcome(t)
	if len(w.Snapshot.Players) != 0 {
		t.Fatalf("spectator's welcome lists players %v in an empty room", w.Snapshot.Players)
	}
	p := dial(t, base)
	p.join(t, "r")
	if pw := p.firstWelcome(t); pw.PlayerId == 0 || pw.Spectator {
		t.Fatalf("player after a spectator: %v, want a seat", pw)
	}
}

// TestSpectatorsDoNotKeepRoomAlive: once its last player leaves, a room
// watched only by spectators is reaped like an empty one, and they get its
// MatchEnd (ABANDONED) and a normal close. A room nobody but a spectator
// ever joined is reaped too.
func TestSpectatorsDoNotKeepRoomAlive(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true, EmptyRoomTimeout: 200 * time.Millisecond, UnjoinedRoomTimeout: 300 * time.Millisecond, RejoinGrace: -1})
	p := dial(t, base)
	p.join(t, "r")
	p.firstWelcome(t)
	s := spectate(t, base, "r")
	s.firstWelcome(t)
	p.send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Leave{Leave: &pb.Leave{}}})
	code, end := s.waitEnd(t)
	if code != closeNormal || end.Reason != pb.MatchEndReason_MATCH_END_REASON_ABANDONED {
		t.Fatalf("spectator of an abandoned room: close %d, %v; want 1000 and ABANDONED", code, end)
	}

	if err := srv.CreateRoom("unjoined", nil); err != nil {
		t.Fatal(err)
	}
	u := spectate(t, base, "unjoined")
	u.firstWelcome(t)
	if code, end := u.waitEnd(t); code != closeNormal || end.Reason != pb.MatchEndReason_MATCH_END_REASON_ABANDONED {
		t.Fatalf("spectator of a room no player joined: close %d, %v; want 1000 and ABANDONED", code, end)
	}
	waitUntil(t, "rooms reaped", func() bool { return srv.Stats().Rooms == 0 })
	if st := srv.Stats(); st.Spectators != 0 {
		t.Fatalf("%d spectators counted after their rooms ended", st.Spectators)
	}
}

// TestSpectatorAdmission: tickets and rooms a spectator join needs, and the
// seat it must not take.
func TestSpectatorAdmission(t *testing.T) {
	admit := func(ticket, room string) (Admission, error) {
		kind, forRoom, _ := strings.Cut(ticket, ":")
		if forRoom != room {
			return Admission{}, errors.New("ticket for another room")
		}
		switch kind {
		case "seat":
			return Admission{RoomID: room, Account: "acct-" + room, Name: "Ann", Rules: gameRules(4)}, nil
		case "watch":
			return Admission{RoomID: room, Account: "viewer", Spectator: true, Rules: gameRules(4)}, nil
		}
		return Admission{}, errors.New("bad signature")
	}
	srv, lobbyNode := startServer(t, Config{Admit: admit})
	_, open := startServer(t, Config{OpenRooms: true})
	seat := dial(t, lobbyNode)
	seat.send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: "live", Ticket: "seat:live"}}})
	seat.firstWelcome(t)
	tests := []struct {
		name    string
		base    string
		join    *pb.ClientFrame
		code    pb.ErrorCode
		message string
	}{
		{"spectator ticket for a seat", lobbyNode, &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: "live", Ticket: "watch:live"}}},
			pb.ErrorCode_ERROR_CODE_UNAUTHORIZED, "spectator ticket"},
		{"seat ticket to spectate", lobbyNode, spectateFrame("live", "seat:live"), pb.ErrorCode_ERROR_CODE_UNAUTHORIZED, "seat ticket"},
		{"spectator ticket for another room", lobbyNode, spectateFrame("live", "watch:other"), pb.ErrorCode_ERROR_CODE_UNAUTHORIZED, ""},
		{"spectator ticket to a room not running", lobbyNode, spectateFrame("later", "watch:later"), pb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND, ""},
		{"no ticket to a lobby room", lobbyNode, spectateFrame("live", ""), pb.ErrorCode_ERROR_CODE_UNAUTHORIZED, "spectator ticket"},
		{"no ticket to a missing lobby room", lobbyNode, spectateFrame("nowhere", ""), pb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND, ""},
		{"open room that does not exist", open, spectateFrame("nowhere", ""), pb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND, ""},
		{"spectator with a resume token", open, &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: "r", Spectate: true, ResumeToken: "1.x"}}},
			pb.ErrorCode_ERROR_CODE_BAD_FRAME, "spectator"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, tc.base)
			c.send(t, tc.join)
			code, e := c.waitClose(t)
			if e == nil || e.Code != tc.code || code != CloseCode(tc.code) {
				t.Fatalf("error %v close %d, want %v and %d", e, code, tc.code, CloseCode(tc.code))
			}
			if !strings.Contains(e.Message, tc.message) {
				t.Fatalf("message %q does not say %q", e.Message, tc.message)
			}
		})
	}
	// The refused spectators started no room, and the player is alone.
	if n := srv.Stats().Rooms; n != 1 {
		t.Fatalf("%d rooms on the lobby node, want the one the player joined", n)
	}
	if info, _ := roomInfo(srv, "live"); info.Players != 1 || info.Spectators != 0 {
		t.Fatalf("room %+v: want 1 player, no spectator", info)
	}
	// A spectator ticket watches the running room.
	w := dial(t, lobbyNode)
	w.send(t, spectateFrame("live", "watch:live"))
	if welcome := w.firstWelcome(t); !welcome.Spectator || welcome.PlayerId != 0 || welcome.ResumeToken != "" {
		t.Fatalf("ticketed spectator's welcome: %v", welcome)
	}
}

// TestSpectatorsShareThePerIPLimit: spectators are connections like any
// other, so one address holds at most MaxConnsPerIP of them.
func TestSpectatorsShareThePerIPLimit(t *testing.T) {
	srv, base := startServer(t, Config{OpenRooms: true, MaxConnsPerIP: 2, LimitLoopback: true})
	if err := srv.CreateRoom("r", nil); err != nil {
		t.Fatal(err)
	}
	spectate(t, base, "r").firstWelcome(t)
	spectate(t, base, "r").firstWelcome(t)
	if status, _ := upgrade(t, base, ""); status != http.StatusTooManyRequests {
		t.Fatalf("third connection from the address of two spectators: HTTP %d, want 429", status)
	}
}
