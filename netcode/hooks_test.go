package netcode_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
	"github.com/tickwire/tickwire/netcode"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// picky is the arena with the match hooks: it refuses players named
// "mallory" and ends the match itself 10 ticks after it starts.
type picky struct {
	*arena.Arena
	start uint64
}

func (g *picky) AdmitPlayer(w *game.World, j game.JoinRequest) *game.Refusal {
	if j.Name == "mallory" {
		return &game.Refusal{Code: "banned", Message: "mallory may not play here"}
	}
	return nil
}

func (g *picky) Step(w *game.World) {
	g.Arena.Step(w)
	if w.Phase() != game.PhaseRunning {
		return
	}
	if g.start == 0 {
		g.start = w.Tick()
	}
	if w.Tick()-g.start >= 10 {
		w.EndMatch("ten_ticks")
	}
}

func pickyServer(t *testing.T) string {
	t.Helper()
	_, addr := serve(t, netcode.Config{OpenRooms: true, TickRate: 50,
		NewGame: func(string) game.Game { return &picky{Arena: arena.New(arena.Config{})} }})
	return "ws://" + addr
}

// A join the game refuses reaches the client as JOIN_REFUSED with the
// game's code and message, and close 4017.
func TestGameRefusesJoinOverTheWire(t *testing.T) {
	url := pickyServer(t)
	_, err := bots.Dial(t.Context(), bots.Config{URL: url, RoomID: "r", Name: "mallory"})
	var se *bots.ServerError
	if !errors.As(err, &se) || se.Code != pb.ErrorCode_ERROR_CODE_JOIN_REFUSED || se.Reason != "banned" ||
		se.Message != "mallory may not play here" {
		t.Fatalf("refused join: %v, want JOIN_REFUSED (banned) with the game's message", err)
	}
	if se.CloseCode != 4017 {
		t.Errorf("close code %d, want 4017", se.CloseCode)
	}
}

// A match the game ends itself ends for the client with reason GAME and the
// game's detail, verified against the mirror.
func TestGameEndsMatchOverTheWire(t *testing.T) {
	url := pickyServer(t)
	c, err := bots.Dial(t.Context(), bots.Config{URL: url, RoomID: "r", Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-c.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the match did not end")
	}
	st := c.Stats()
	if st.MatchEnd == nil || st.MatchEnd.Reason != pb.MatchEndReason_MATCH_END_REASON_GAME || st.MatchEnd.Detail != "ten_ticks" ||
		!st.MatchEnd.Verified || st.Desyncs != 0 {
		t.Fatalf("match end %+v, desyncs %d; want GAME (ten_ticks), verified", st.MatchEnd, st.Desyncs)
	}
}
