package game

import (
	"errors"
	"testing"
)

// A held seat keeps its player, entity and score, takes a seat, ignores
// inputs and stands still; Reconnect gives it back as it was.
func TestSimDisconnectAndReconnect(t *testing.T) {
	s := NewSim(NewArena(ArenaConfig{NPCs: -1, PickupOdds: 1, TouchRadius: -1}), Rules{MaxPlayers: 1}, 7)
	p, err := s.AddPlayer("a")
	if err != nil {
		t.Fatal(err)
	}
	s.Advance(1, []PlayerInput{{Player: p.ID, Input: Input{Seq: 1, DX: 1}}})
	s.Advance(2, nil)
	e := *s.World().Entity(p.Entity)
	score := p.Score
	if score == 0 {
		t.Fatal("a pickup every tick scored nothing")
	}

	if !s.Disconnect(p.ID, 10) {
		t.Fatal("Disconnect of a seated player reported false")
	}
	if _, err := s.AddPlayer("b"); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("join into a 1-seat room with a held seat: %v, want ErrRoomFull", err)
	}
	for tick := uint64(3); tick < 12; tick++ {
		s.Advance(tick, []PlayerInput{{Player: p.ID, Input: Input{Seq: uint32(tick), DY: 1}}})
	}
	got := s.World().Player(p.ID)
	switch {
	case got == nil:
		t.Fatal("held player was removed before its hold ran out")
	case !got.Disconnected:
		t.Fatal("held player not marked disconnected")
	case got.Score != score:
		t.Fatalf("score changed while disconnected: %d, want %d", got.Score, score)
	case got.LastSeq != 1:
		t.Fatalf("inputs applied while disconnected: LastSeq %d, want 1", got.LastSeq)
	case *s.World().Entity(p.Entity) != e:
		t.Fatalf("entity moved while disconnected: %+v, want %+v", *s.World().Entity(p.Entity), e)
	case s.World().Phase() != PhaseRunning:
		t.Fatalf("match with only a held seat is %v, want running", s.World().Phase())
	}

	back, err := s.Reconnect(p.ID)
	if err != nil || back != p || back.Disconnected {
		t.Fatalf("Reconnect: %+v, %v; want the same, connected player", back, err)
	}
	s.Advance(12, []PlayerInput{{Player: p.ID, Input: Input{Seq: 2, DX: 1}}})
	if p.LastSeq != 2 || s.World().Entity(p.Entity).X == e.X || p.Score <= score {
		t.Fatalf("after reconnect: LastSeq %d, x %d (was %d), score %d (was %d); want the player live again",
			p.LastSeq, s.World().Entity(p.Entity).X, e.X, p.Score, score)
	}
}

// A held seat that is not reconnected in time is removed, and a running match
// left with no players ends as abandoned.
func TestSimHeldSeatExpires(t *testing.T) {
	s := NewSim(NewArena(ArenaConfig{NPCs: -1}), Rules{MaxPlayers: 2}, 7)
	p, _ := s.AddPlayer("a")
	s.Advance(1, nil)
	s.Disconnect(p.ID, 5) // removed at tick 1+5
	for tick := uint64(2); tick < 6; tick++ {
		if s.Advance(tick, nil) {
			t.Fatalf("match ended at tick %d with a seat still held", tick)
		}
	}
	if s.World().Player(p.ID) == nil {
		t.Fatal("held player removed before tick 6")
	}
	if !s.Advance(6, nil) || s.Result().Reason != EndAbandoned {
		t.Fatalf("match after the last held seat expired: phase %v, result %+v; want abandoned", s.World().Phase(), s.Result())
	}
	if s.World().Player(p.ID) != nil || s.World().Entity(p.Entity) != nil {
		t.Fatal("expired player or its entity still in the world")
	}
	if _, err := s.Reconnect(p.ID); !errors.Is(err, ErrMatchEnded) {
		t.Fatalf("Reconnect after the match ended: %v, want ErrMatchEnded", err)
	}
}

func TestSimReconnectGonePlayer(t *testing.T) {
	s := NewSim(NewArena(ArenaConfig{NPCs: -1}), Rules{MaxPlayers: 2}, 7)
	a, _ := s.AddPlayer("a")
	b, _ := s.AddPlayer("b")
	s.Advance(1, nil)
	s.Disconnect(a.ID, 2)
	s.Advance(2, nil)
	s.Advance(3, nil)
	if s.World().Player(a.ID) != nil {
		t.Fatal("player a still seated after its hold")
	}
	if _, err := s.Reconnect(a.ID); !errors.Is(err, ErrPlayerGone) {
		t.Fatalf("Reconnect of an expired player: %v, want ErrPlayerGone", err)
	}
	if s.Disconnect(a.ID, 5) {
		t.Fatal("Disconnect of a removed player reported true")
	}
	// The other player's seat is untouched, and an explicit removal of a held
	// player frees the seat at once.
	s.Disconnect(b.ID, 100)
	s.RemovePlayer(b.ID)
	if _, err := s.AddPlayer("c"); err != nil {
		t.Fatalf("join after the held player was removed: %v", err)
	}
	if _, err := s.AddPlayer("d"); err != nil {
		t.Fatalf("second join after both seats were freed: %v", err)
	}
}

// Disconnects and reconnects at the same ticks give the same states.
func TestSimRejoinDeterministic(t *testing.T) {
	run := func() uint32 {
		s := NewSim(NewArena(ArenaConfig{}), Rules{MaxPlayers: 4}, 11)
		for range 3 {
			_, _ = s.AddPlayer("p")
		}
		for tick := uint64(1); tick <= 200; tick++ {
			switch tick {
			case 20:
				s.Disconnect(2, 40)
			case 50:
				_, _ = s.Reconnect(2)
			case 80:
				s.Disconnect(3, 10)
			}
			in := []PlayerInput{{Player: PlayerID(tick%3 + 1), Input: Input{Seq: uint32(tick), DX: int32(tick%3) - 1, DY: 1}}}
			s.Advance(tick, in)
		}
		if s.World().Player(3) != nil {
			panic("player 3 outlived its hold")
		}
		return s.World().Checksum()
	}
	if a, b := run(), run(); a != b {
		t.Fatalf("checksums differ: %08x vs %08x", a, b)
	}
}
