package game

import (
	"errors"
	"fmt"
	"testing"
)

// hooked is the dots game with every hook: it refuses the name "mallory",
// ends the match when a player reaches round 3, and records held seats.
type hooked struct {
	*dots
	held, back []PlayerID
}

func (g *hooked) AdmitPlayer(w *World, j JoinRequest) *Refusal {
	if j.Name == "mallory" {
		return &Refusal{Code: "banned", Message: "not in this room"}
	}
	return nil
}

func (g *hooked) PlayerHeld(w *World, p *Player) { g.held = append(g.held, p.ID) }
func (g *hooked) PlayerBack(w *World, p *Player) { g.back = append(g.back, p.ID) }

func (g *hooked) Step(w *World) {
	w.SetInt(g.round, int64(w.Tick()))
	if w.Int(g.round) == 3 {
		for _, p := range w.Players() {
			w.SetScore(p.ID, int64(p.ID)*10)
		}
		w.EndMatch("round_three")
	}
}

func TestAdmitterRefusesJoin(t *testing.T) {
	g := &hooked{dots: newDots()}
	s, err := NewSim(g, Rules{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.AddPlayer("mallory")
	var r *Refusal
	if !errors.As(err, &r) || r.Code != "banned" || r.Message != "not in this room" {
		t.Fatalf("join of a refused name: %v, want the game's Refusal", err)
	}
	if len(s.World().Players()) != 0 || len(s.World().Entities()) != 0 {
		t.Fatal("a refused join left a player or an entity in the world")
	}
	if _, err := s.AddPlayer("alice"); err != nil {
		t.Fatalf("join of an accepted name: %v", err)
	}
}

func TestGameEndsItsMatch(t *testing.T) {
	g := &hooked{dots: newDots()}
	s, _ := NewSim(g, Rules{MinPlayers: 2}, 1)
	a, _ := s.AddPlayer("a")
	s.World().EndMatch("too_early") // waiting: does nothing
	if s.Advance(1, nil) {
		t.Fatal("ended while waiting")
	}
	b, _ := s.AddPlayer("b")
	var ended bool
	tick := uint64(2)
	for ; !ended && tick < 10; tick++ {
		ended = s.Advance(tick, nil)
	}
	r := s.Result()
	if !ended || r.Reason != EndGame || r.Detail != "round_three" || r.Tick != 3 {
		t.Fatalf("result %+v, want the game's end at tick 3", r)
	}
	if r.Standings[0].Player != b.ID || r.Standings[0].Score != 20 || r.Standings[1].Player != a.ID {
		t.Fatalf("standings %+v, want b (20) then a (10): the scores the game set", r.Standings)
	}
}

func TestHolderHearsHeldAndBack(t *testing.T) {
	g := &hooked{dots: newDots()}
	s, _ := NewSim(g, Rules{}, 1)
	p, _ := s.AddPlayer("a")
	s.Disconnect(p.ID, 10)
	s.Disconnect(p.ID, 10) // already held: no second call
	if _, err := s.Reconnect(p.ID); err != nil {
		t.Fatal(err)
	}
	if len(g.held) != 1 || g.held[0] != p.ID || len(g.back) != 1 || g.back[0] != p.ID {
		t.Fatalf("held %v back %v, want one of each for player %d", g.held, g.back, p.ID)
	}
}

// chatty is the dots game that records the messages it is given.
type chatty struct {
	*dots
	got []string
}

func (g *chatty) HandleMessage(w *World, p *Player, m Message) {
	g.got = append(g.got, fmt.Sprintf("%d:%d:%s", p.ID, m.Op, m.Data))
}

func TestMessagesDeliveredInOrder(t *testing.T) {
	g := &chatty{dots: newDots()}
	s, _ := NewSim(g, Rules{}, 1)
	a, _ := s.AddPlayer("a")
	b, _ := s.AddPlayer("b")
	s.AdvanceWith(1, nil, []PlayerMessage{
		{Player: b.ID, Message: Message{Op: 2, Data: []byte("x")}},
		{Player: a.ID, Message: Message{Op: 1, Data: []byte("y")}},
		{Player: b.ID, Message: Message{Op: 1, Data: []byte("z")}},
		{Player: 99, Message: Message{Op: 1}}, // unknown player
	})
	s.Disconnect(a.ID, 10)
	s.AdvanceWith(2, nil, []PlayerMessage{{Player: a.ID, Message: Message{Op: 3}}}) // held: dropped
	want := []string{"2:2:x", "1:1:y", "2:1:z"}
	if fmt.Sprint(g.got) != fmt.Sprint(want) {
		t.Fatalf("delivered %v, want %v", g.got, want)
	}
}

// A room delivers queued messages at its next tick; they share a player's
// queue with its inputs.
func TestRoomMessagesShareTheQueue(t *testing.T) {
	g := &chatty{dots: newDots()}
	r, err := NewRoom(RoomConfig{ID: "m", Game: g, Rules: Rules{MaxPlayers: 1}, Observer: &tickLog{}, MaxQueuedInputs: 2})
	if err != nil {
		t.Fatal(err)
	}
	r.sim.AddPlayer("a")
	if !r.Input(1, Input{Seq: 1}) || !r.Message(1, Message{Op: 7, Data: []byte("hi")}) || r.Message(1, Message{Op: 8}) {
		t.Fatal("the third item of a share of two was taken")
	}
	r.tick(1, nil, nil)
	if fmt.Sprint(g.got) != "[1:7:hi]" {
		t.Fatalf("delivered %v, want [1:7:hi]", g.got)
	}
	if !r.Message(1, Message{Op: 9}) {
		t.Fatal("the share was not whole again after the tick")
	}
}

// echo is the dots game that answers each message: to its sender, and to
// everyone when the op is 2.
type echo struct{ *dots }

func (g *echo) HandleMessage(w *World, p *Player, m Message) {
	if m.Op == 2 {
		w.Send(Message{Op: 20, Data: m.Data})
		return
	}
	w.Send(Message{Op: 10, Data: m.Data}, p.ID)
}

// eventLog is an Observer that keeps each tick's events.
type eventLog struct {
	ticks chan []Event
}

func (l *eventLog) Tick(s *Sim) {
	if evs := s.World().Events(); len(evs) > 0 {
		l.ticks <- append([]Event(nil), evs...)
	}
}
func (l *eventLog) Ended(*Sim, Result) {}

// A tick's events reach its observer in order, and are gone at the next
// tick.
func TestEventsPerTick(t *testing.T) {
	log := &eventLog{ticks: make(chan []Event, 4)}
	r, err := NewRoom(RoomConfig{ID: "e", Game: &echo{newDots()}, Observer: log})
	if err != nil {
		t.Fatal(err)
	}
	r.sim.AddPlayer("a")
	r.Message(1, Message{Op: 1, Data: []byte("x")})
	r.Message(1, Message{Op: 2, Data: []byte("y")})
	r.tick(1, nil, nil)
	r.tick(2, nil, nil)
	got := fmt.Sprint(<-log.ticks)
	if want := "[{[1] {10 [120]}} {[] {20 [121]}}]"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	if len(log.ticks) != 0 || len(r.sim.World().Events()) != 0 {
		t.Fatal("events outlived their tick")
	}
}

// A Sim driven without a Room keeps only the last tick's events, so a game
// that sends every tick does not grow its world without bound in tests and
// benchmarks.
func TestSimKeepsOnlyTheLastTicksEvents(t *testing.T) {
	s, err := NewSim(&echo{newDots()}, Rules{MaxPlayers: 2, MinPlayers: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.AddPlayer("a")
	if err != nil {
		t.Fatal(err)
	}
	for tick := uint64(1); tick <= 5; tick++ {
		s.AdvanceWith(tick, nil, []PlayerMessage{{Player: p.ID, Message: Message{Op: 2, Data: []byte{byte(tick)}}}})
		evs := s.World().Events()
		if len(evs) != 1 || evs[0].Message.Data[0] != byte(tick) {
			t.Fatalf("tick %d: events %v, want only this tick's one", tick, evs)
		}
	}
}

// TestSendRefusesEventsOverTheLimits: op 0, an event over MaxEventSize, the
// event past MaxTickEvents and the bytes past MaxTickEventBytes are refused
// with ErrEvent and not sent; the next tick starts with fresh limits.
func TestSendRefusesEventsOverTheLimits(t *testing.T) {
	s, err := NewSim(newDots(), Rules{MaxPlayers: 2, MinPlayers: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	w := s.World()
	refused := func(what string, m Message) {
		t.Helper()
		n := len(w.Events())
		if err := w.Send(m); !errors.Is(err, ErrEvent) || len(w.Events()) != n {
			t.Errorf("%s: %v with %d events after, want ErrEvent and none sent", what, err, len(w.Events())-n)
		}
	}
	s.Advance(1, nil)
	refused("op 0", Message{Op: 0})
	refused("over MaxEventSize", Message{Op: 1, Data: make([]byte, MaxEventSize+1)})
	if err := w.Send(Message{Op: 1, Data: make([]byte, MaxEventSize)}); err != nil {
		t.Fatalf("an event of exactly MaxEventSize: %v", err)
	}
	for len(w.Events()) < MaxTickEvents {
		if err := w.Send(Message{Op: 1, Data: []byte("x")}); err != nil {
			t.Fatalf("event %d of a tick: %v", len(w.Events())+1, err)
		}
	}
	refused("past MaxTickEvents", Message{Op: 1})

	s.Advance(2, nil)
	for range MaxTickEventBytes / MaxEventSize {
		if err := w.Send(Message{Op: 1, Data: make([]byte, MaxEventSize)}); err != nil {
			t.Fatalf("a fresh tick, %d events of %d bytes: %v", len(w.Events())+1, MaxEventSize, err)
		}
	}
	refused("past MaxTickEventBytes", Message{Op: 1, Data: []byte("x")})
	if err := w.Send(Message{Op: 1}); err != nil {
		t.Errorf("an event with no data at the byte limit: %v", err)
	}
}
