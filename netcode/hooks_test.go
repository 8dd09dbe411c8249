package netcode_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
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

// counter is the arena where game message op 1 with one byte n sets the
// sender's score to score*10 + n: the score spells out the order the
// messages arrived in.
type counter struct{ *arena.Arena }

func (g counter) HandleMessage(w *game.World, p *game.Player, m game.Message) {
	if m.Op == 1 && len(m.Data) == 1 {
		w.SetScore(p.ID, p.Score*10+int64(m.Data[0]))
	}
}

// Game messages reach the game in order within the next tick; op 0 and a
// game that takes none get BAD_FRAME.
func TestGameMessagesOverTheWire(t *testing.T) {
	_, addr := serve(t, netcode.Config{OpenRooms: true, TickRate: 50,
		NewGame: func(string) game.Game { return counter{arena.New(arena.Config{PickupOdds: -1, TouchRadius: -1})} }})
	url := "ws://" + addr
	c, err := bots.Dial(t.Context(), bots.Config{URL: url, RoomID: "r", Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, n := range []byte{1, 2, 3} {
		if err := c.SendMessage(1, []byte{n}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the messages' score", func() bool {
		p, ok := playerIn(c.State(), c.Session().PlayerID)
		return ok && p.Score == 123
	})
	if err := c.SendMessage(0, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("op 0 did not end the connection")
	}
	if se := c.Stats().ServerError; se == nil || se.Code != pb.ErrorCode_ERROR_CODE_BAD_FRAME {
		t.Fatalf("op 0: %v, want BAD_FRAME", se)
	}

	_, plain := serve(t, netcode.Config{OpenRooms: true, NewGame: func(string) game.Game { return arena.New(arena.Config{}) }})
	q, err := bots.Dial(t.Context(), bots.Config{URL: "ws://" + plain, RoomID: "r", Name: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.SendMessage(1, []byte{1}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-q.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a message to a game that takes none did not end the connection")
	}
	if se := q.Stats().ServerError; se == nil || se.Code != pb.ErrorCode_ERROR_CODE_BAD_FRAME {
		t.Fatalf("message to a game that takes none: %v, want BAD_FRAME", se)
	}
}

// echoGame is the arena that answers game messages: op 1 back to its sender
// as op 10, op 2 to everyone as op 20.
type echoGame struct{ *arena.Arena }

func (g echoGame) HandleMessage(w *game.World, p *game.Player, m game.Message) {
	if m.Op == 2 {
		w.Send(game.Message{Op: 20, Data: m.Data})
		return
	}
	w.Send(game.Message{Op: 10, Data: m.Data}, p.ID)
}

// The game's events reach the players they are for, in order, with the tick
// they were sent at.
func TestGameEventsOverTheWire(t *testing.T) {
	_, addr := serve(t, netcode.Config{OpenRooms: true, TickRate: 50,
		NewGame: func(string) game.Game { return echoGame{arena.New(arena.Config{})} }})
	type got struct {
		mu  sync.Mutex
		evs []string
	}
	dial := func(name string, g *got) *bots.Client {
		c, err := bots.Dial(t.Context(), bots.Config{URL: "ws://" + addr, RoomID: "r", Name: name,
			OnEvent: func(tick uint64, op uint32, data []byte) {
				g.mu.Lock()
				g.evs = append(g.evs, fmt.Sprintf("%d:%s", op, data))
				g.mu.Unlock()
			}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	var ga, gb got
	a := dial("ann", &ga)
	dial("bob", &gb)
	for _, m := range []struct {
		op   uint32
		data string
	}{{1, "a"}, {2, "b"}, {1, "c"}} {
		if err := a.SendMessage(m.op, []byte(m.data)); err != nil {
			t.Fatal(err)
		}
	}
	seen := func(g *got) string { g.mu.Lock(); defer g.mu.Unlock(); return fmt.Sprint(g.evs) }
	waitFor(t, "ann's events", func() bool { return seen(&ga) == "[10:a 20:b 10:c]" })
	waitFor(t, "bob's event", func() bool { return seen(&gb) == "[20:b]" })
	if st := a.Stats(); st.Events != 3 || st.Desyncs != 0 {
		t.Fatalf("ann: %d events, %d desyncs; want 3, 0", st.Events, st.Desyncs)
	}
}

// moderated is the arena whose chat hook drops lines that say "spam" and
// shouts the others.
type moderated struct{ *arena.Arena }

func (moderated) Chat(w *game.World, p *game.Player, text string) (string, bool) {
	if strings.Contains(text, "spam") {
		return "", false
	}
	return strings.ToUpper(text), true
}

// Chat is cleaned, rate-limited, moderated by the game and heard by every
// player, in order.
func TestChatOverTheWire(t *testing.T) {
	srv, addr := serve(t, netcode.Config{OpenRooms: true, TickRate: 50,
		NewGame: func(string) game.Game { return moderated{arena.New(arena.Config{})} }})
	type heard struct {
		mu    sync.Mutex
		lines []string
	}
	dial := func(name string, h *heard) *bots.Client {
		c, err := bots.Dial(t.Context(), bots.Config{URL: "ws://" + addr, RoomID: "r", Name: name,
			OnChat: func(_ uint64, player uint32, name, text string) {
				h.mu.Lock()
				h.lines = append(h.lines, name+": "+text)
				h.mu.Unlock()
			}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	var ha, hb heard
	a := dial("ann", &ha)
	dial("bob", &hb)
	for _, line := range []string{"hi\x1b[31m", "buy spam", "gg", "4", "5", "6"} {
		if err := a.SendChat(line); err != nil {
			t.Fatal(err)
		}
	}
	lines := func(h *heard) string { h.mu.Lock(); defer h.mu.Unlock(); return fmt.Sprint(h.lines) }
	want := "[ann: HI[31M ann: GG ann: 4 ann: 5]" // "6" is over the burst of 5
	waitFor(t, "bob hears ann", func() bool { return lines(&hb) == want })
	waitFor(t, "ann hears herself", func() bool { return lines(&ha) == want })
	if got := srv.Stats().ChatDropped; got != 1 {
		t.Fatalf("chat dropped %d, want 1", got)
	}
}
