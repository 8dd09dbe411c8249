package netcode_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
	"github.com/tickwire/tickwire/netcode"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// scoreOnButton is the arena with pickups off, where every input with dx 2
// (the arena clamps it to 1) scores a point: a player's score is exactly what
// it asked for.
type scoreOnButton struct{ *arena.Arena }

func (g scoreOnButton) ApplyInput(w *game.World, p *game.Player, in game.Input) {
	if in.Int(arena.Fields().DX) == 2 {
		w.AddScore(p.ID, 1)
	}
	g.Arena.ApplyInput(w, p, in)
}

// rejoinServer serves open rooms of the scoreOnButton game on loopback and
// returns the ws base URL.
func rejoinServer(t *testing.T, cfg netcode.Config) (*netcode.Server, string) {
	t.Helper()
	if cfg.Admit == nil {
		cfg.OpenRooms = true
	}
	cfg.NewGame = func(string) game.Game {
		return scoreOnButton{arena.New(arena.Config{NPCs: 8, PickupOdds: -1, TouchRadius: -1})}
	}
	srv, addr := serve(t, cfg)
	return srv, "ws://" + addr
}

func dialBot(t *testing.T, cfg bots.Config) *bots.Client {
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

// refusal is the server error a failed dial or rejoin carries.
func refusal(t *testing.T, err error) *bots.ServerError {
	t.Helper()
	var se *bots.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a server error", err)
	}
	return se
}

func wantResumeExpired(t *testing.T, what string, err error) {
	t.Helper()
	se := refusal(t, err)
	if se.Code != pb.ErrorCode_ERROR_CODE_RESUME_EXPIRED || se.CloseCode != 4014 {
		t.Fatalf("%s: %v, want RESUME_EXPIRED and close 4014", what, se)
	}
}

func playerIn(s bots.State, id uint32) (bots.Player, bool) {
	for _, p := range s.Players {
		if p.ID == id {
			return p, true
		}
	}
	return bots.Player{}, false
}

func entityIn(s bots.State, id uint32) bots.Entity {
	for _, e := range s.Entities {
		if e.ID == id {
			return e
		}
	}
	return bots.Entity{}
}

// score sends n scoring inputs and waits for them to be applied.
func score(t *testing.T, c *bots.Client, n int, want int64) {
	t.Helper()
	for range n {
		if err := c.SendInput(bots.Input{Values: [bots.MaxInputValues]int64{2}}); err != nil {
			t.Fatal(err)
		}
	}
	id := c.Session().PlayerID
	waitFor(t, "scoring inputs applied", func() bool {
		p, _ := playerIn(c.State(), id)
		return p.Score == want && c.Stats().LastAckedSeq == c.Stats().LastSentSeq
	})
}

// waitTicks waits until c's mirror is n ticks past where it is now.
func waitTicks(t *testing.T, c *bots.Client, n uint64) {
	t.Helper()
	from := c.State().Tick
	waitFor(t, "ticks to pass", func() bool { return c.State().Tick >= from+n })
}

// A client whose TCP connection is cut rejoins with its resume token: same
// player, entity and score, a full snapshot, and a mirror that stays in sync.
// While it is away its seat counts toward the room's capacity and its avatar
// stands still.
func TestRejoinAfterDrop(t *testing.T) {
	srv, url := rejoinServer(t, netcode.Config{Rules: game.Rules{MaxPlayers: 2}, RejoinGrace: time.Minute})
	ann := dialBot(t, bots.Config{URL: url, RoomID: "r", Name: "ann"})
	bob := dialBot(t, bots.Config{URL: url, RoomID: "r", Name: "bob"})
	score(t, ann, 3, 3)
	was := ann.Session()
	if len(was.ResumeToken) < 22 {
		t.Fatalf("welcome resume token %q: want 128 bits or more", was.ResumeToken)
	}

	if err := ann.Drop(); err != nil {
		t.Fatal(err)
	}
	<-ann.Done()
	waitFor(t, "seat held", func() bool { return srv.Stats().SeatsHeld == 1 })

	_, err := bots.Dial(t.Context(), bots.Config{URL: url, RoomID: "r", Name: "cat"})
	if se := refusal(t, err); se.Code != pb.ErrorCode_ERROR_CODE_ROOM_FULL {
		t.Fatalf("join while a seat is held in a 2-seat room: %v, want ROOM_FULL", se)
	}
	waitTicks(t, bob, 3)
	parked := entityIn(bob.State(), was.EntityID)
	waitTicks(t, bob, 5)
	if now := entityIn(bob.State(), was.EntityID); !slices.Equal(now.Values, parked.Values) {
		t.Fatalf("held player's avatar moved from %+v to %+v; it should stand still", parked, now)
	}
	if p, ok := playerIn(bob.State(), was.PlayerID); !ok || p.Score != 3 {
		t.Fatalf("other client sees the held player as %+v (seated %v), want score 3", p, ok)
	}

	back, err := ann.Rejoin(t.Context())
	if err != nil {
		t.Fatalf("rejoin within the grace: %v", err)
	}
	defer back.Close()
	s := back.Session()
	if s.PlayerID != was.PlayerID || s.EntityID != was.EntityID || !s.Resumed || s.ResumeToken != was.ResumeToken {
		t.Fatalf("rejoined as %+v, want player %d entity %d, resumed, same token", s, was.PlayerID, was.EntityID)
	}
	st := back.State()
	if p, _ := playerIn(st, s.PlayerID); p.Score != 3 || st.LastInputSeq != 3 || !back.Synced() {
		t.Fatalf("welcome snapshot: score %d, last input %d, synced %v; want 3, 3, true", p.Score, st.LastInputSeq, back.Synced())
	}
	if e := entityIn(st, s.EntityID); !slices.Equal(e.Values, parked.Values) {
		t.Fatalf("rejoined avatar at %+v, want it where it stopped, %+v", e, parked)
	}

	// Inputs number on from the last applied one, and the player is live.
	score(t, back, 1, 4)
	waitFor(t, "other client sees the new score", func() bool {
		p, _ := playerIn(bob.State(), s.PlayerID)
		return p.Score == 4
	})
	waitTicks(t, back, 10)
	if bs := back.Stats(); bs.Desyncs != 0 || bs.Deltas < 10 || !back.Synced() {
		t.Fatalf("after the rejoin: %d desyncs, %d deltas, synced %v", bs.Desyncs, bs.Deltas, back.Synced())
	}
	if st := srv.Stats(); st.Rejoins != 1 || st.SeatsExpired != 0 {
		t.Fatalf("server counted %d rejoins and %d expired seats, want 1 and 0", st.Rejoins, st.SeatsExpired)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	<-back.Done()
	end := back.Stats().MatchEnd
	if end == nil || !end.Verified || len(end.Scores) != 2 || end.Scores[0].PlayerID != s.PlayerID || end.Scores[0].Score != 4 {
		t.Fatalf("match end %+v: want it verified against the mirror, with ann first on 4", end)
	}
}

// Past the grace the player is removed and its token refused.
func TestRejoinAfterGraceRefused(t *testing.T) {
	srv, url := rejoinServer(t, netcode.Config{Rules: game.Rules{MaxPlayers: 2}, RejoinGrace: 200 * time.Millisecond})
	ann := dialBot(t, bots.Config{URL: url, RoomID: "r", Name: "ann"})
	bob := dialBot(t, bots.Config{URL: url, RoomID: "r", Name: "bob"})
	score(t, ann, 2, 2)
	id := ann.Session().PlayerID
	_ = ann.Drop()
	waitFor(t, "held seat expired", func() bool { return srv.Stats().SeatsExpired == 1 })
	waitFor(t, "player gone from the other client's mirror", func() bool {
		_, seated := playerIn(bob.State(), id)
		return !seated
	})
	_, err := ann.Rejoin(t.Context())
	wantResumeExpired(t, "rejoin after the grace", err)
	// The seat is free again.
	dialBot(t, bots.Config{URL: url, RoomID: "r", Name: "cat"})
}

// An explicit Leave frees the seat at once, however long the grace.
func TestLeaveFreesSeatAtOnce(t *testing.T) {
	srv, url := rejoinServer(t, netcode.Config{Rules: game.Rules{MaxPlayers: 1}, RejoinGrace: time.Hour})
	ann := dialBot(t, bots.Config{URL: url, RoomID: "solo", Name: "ann"})
	if err := ann.Leave(); err != nil {
		t.Fatal(err)
	}
	<-ann.Done()
	dialBot(t, bots.Config{URL: url, RoomID: "solo", Name: "bob"})
	_, err := ann.Rejoin(t.Context())
	wantResumeExpired(t, "rejoin after a Leave", err)
	if st := srv.Stats(); st.SeatsHeld != 0 {
		t.Fatalf("%d seats held after a Leave, want 0", st.SeatsHeld)
	}
}

// A token that is not a live seat's, in the room named, is refused with
// RESUME_EXPIRED; the seat it imitates is untouched.
func TestResumeTokenRefused(t *testing.T) {
	_, url := rejoinServer(t, netcode.Config{RejoinGrace: time.Minute})
	ann := dialBot(t, bots.Config{URL: url, RoomID: "r", Name: "ann"})
	dialBot(t, bots.Config{URL: url, RoomID: "other", Name: "bob"})
	tok := ann.Session().ResumeToken
	forged := tok[:len(tok)-1] + "A"
	if forged == tok {
		forged = tok[:len(tok)-1] + "B"
	}
	id, _, _ := strings.Cut(tok, ".")
	for _, tc := range []struct{ name, room, token string }{
		{"garbage", "r", "not-a-token"},
		{"wrong secret", "r", forged},
		{"unknown player", "r", "99" + tok[len(id):]},
		{"another room", "other", tok},
		{"no such room", "nowhere", tok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bots.Dial(t.Context(), bots.Config{URL: url, RoomID: tc.room, Name: "mallory", ResumeToken: tc.token})
			wantResumeExpired(t, tc.name, err)
		})
	}
	select {
	case <-ann.Done():
		t.Fatalf("the real seat's connection closed: %+v", ann.Stats().ServerError)
	default:
	}
}

// A rejoin while the old connection is still open wins: the old one is closed
// with REPLACED.
func TestRejoinReplacesOpenConnection(t *testing.T) {
	srv, url := rejoinServer(t, netcode.Config{Rules: game.Rules{MaxPlayers: 1}, RejoinGrace: time.Minute})
	ann := dialBot(t, bots.Config{URL: url, RoomID: "r", Name: "ann"})
	score(t, ann, 1, 1)
	back, err := ann.Rejoin(t.Context())
	if err != nil {
		t.Fatalf("rejoin over an open connection: %v", err)
	}
	defer back.Close()
	<-ann.Done()
	if se := ann.Stats().ServerError; se == nil || se.Code != pb.ErrorCode_ERROR_CODE_REPLACED || se.CloseCode != 4015 {
		t.Fatalf("old connection closed with %+v, want REPLACED and 4015", se)
	}
	if s := back.Session(); s.PlayerID != ann.Session().PlayerID || !s.Resumed {
		t.Fatalf("new connection is %+v, want the same, resumed, player", s)
	}
	score(t, back, 1, 2)
	if st := srv.Stats(); st.SeatsHeld != 0 || st.Rejoins != 1 {
		t.Fatalf("%d seats held, %d rejoins; want 0 and 1", st.SeatsHeld, st.Rejoins)
	}
}

// A player whose connection dropped can also come back with its lobby ticket.
func TestRejoinWithTicket(t *testing.T) {
	srv, url := rejoinServer(t, netcode.Config{RejoinGrace: time.Minute, Admit: func(ticket, room string) (netcode.Admission, error) {
		account, ok := strings.CutPrefix(ticket, "ticket-")
		if !ok {
			return netcode.Admission{}, errors.New("bad signature")
		}
		return netcode.Admission{RoomID: room, Account: account, Name: account, Rules: game.Rules{MaxPlayers: 2}}, nil
	}})
	cfg := bots.Config{URL: url, RoomID: "lobby-room", Name: "ann", Ticket: "ticket-ann"}
	ann := dialBot(t, cfg)
	score(t, ann, 2, 2)
	_ = ann.Drop()
	waitFor(t, "seat held", func() bool { return srv.Stats().SeatsHeld == 1 })
	back := dialBot(t, cfg)
	if s := back.Session(); s.PlayerID != ann.Session().PlayerID || !s.Resumed {
		t.Fatalf("ticket rejoin: %+v, want the held player %d, resumed", s, ann.Session().PlayerID)
	}
	if p, _ := playerIn(back.State(), back.Session().PlayerID); p.Score != 2 {
		t.Fatalf("ticket rejoin: score %d, want 2", p.Score)
	}
	// While the seat is taken, the same account still gets no second one.
	_, err := bots.Dial(t.Context(), cfg)
	if se := refusal(t, err); se.Code != pb.ErrorCode_ERROR_CODE_ALREADY_SEATED {
		t.Fatalf("second seat for a connected account: %v, want ALREADY_SEATED", se)
	}
}

// A room whose only players dropped is not reaped while their seats are held,
// and is once the grace has run out.
func TestHeldSeatsKeepRoomUntilGrace(t *testing.T) {
	srv, url := rejoinServer(t, netcode.Config{
		Rules:            game.Rules{MaxPlayers: 2, MinPlayers: 2}, // waits: never ends by itself
		EmptyRoomTimeout: 50 * time.Millisecond, RejoinGrace: 2 * time.Second,
	})
	ann := dialBot(t, bots.Config{URL: url, RoomID: "r", Name: "ann"})
	_ = ann.Drop()
	waitFor(t, "seat held", func() bool { return srv.Stats().SeatsHeld == 1 })
	time.Sleep(300 * time.Millisecond) // six empty-room timeouts, well within the grace
	if rooms := srv.Rooms(); len(rooms) != 1 || rooms[0].Players != 1 {
		t.Fatalf("rooms %+v: want the room kept with its held seat", rooms)
	}
	back, err := ann.Rejoin(t.Context())
	if err != nil {
		t.Fatalf("rejoin into a room with only a held seat: %v", err)
	}
	_ = back.Drop()
	waitFor(t, "room reaped after the grace", func() bool { return len(srv.Rooms()) == 0 })
	if st := srv.Stats(); st.SeatsHeld != 2 || st.SeatsExpired != 1 {
		t.Fatalf("%d seats held and %d expired, want 2 and 1", st.SeatsHeld, st.SeatsExpired)
	}
}

// A running match whose last player dropped ends as abandoned once the grace
// runs out, not before.
func TestHeldSeatExpiryEndsMatch(t *testing.T) {
	ended := make(chan netcode.MatchResult, 1)
	srv, url := rejoinServer(t, netcode.Config{RejoinGrace: 200 * time.Millisecond, OnMatchEnd: func(r netcode.MatchResult) { ended <- r }})
	ann := dialBot(t, bots.Config{URL: url, RoomID: "r", Name: "ann"})
	_ = ann.Drop()
	waitFor(t, "seat held", func() bool { return srv.Stats().SeatsHeld == 1 })
	select {
	case r := <-ended:
		if r.Result.Reason != game.EndAbandoned || srv.Stats().SeatsExpired != 1 {
			t.Fatalf("match ended with %v after %d expired seats, want abandoned after 1", r.Result.Reason, srv.Stats().SeatsExpired)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("match with an expired held seat did not end within 10s")
	}
}
