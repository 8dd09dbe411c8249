package game_test

import (
	"errors"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
	"testing"
)

// A held seat keeps its player, entity and score, takes a seat, ignores
// inputs and stands still; Reconnect gives it back as it was.
func TestSimDisconnectAndReconnect(t *testing.T) {
	s := newSim(arena.New(arena.Config{NPCs: -1, PickupOdds: 1, TouchRadius: -1}), game.Rules{MaxPlayers: 1}, 7)
	p, err := s.AddPlayer("a")
	if err != nil {
		t.Fatal(err)
	}
	s.Advance(1, []game.PlayerInput{{Player: p.ID, Input: arena.Move(1, 1, 0)}})
	s.Advance(2, nil)
	pos := arena.Fields().AvatarPos
	ex, ey := s.World().Entity(p.Entity).Pos2(pos)
	score := p.Score
	if score == 0 {
		t.Fatal("a pickup every tick scored nothing")
	}

	if !s.Disconnect(p.ID, 10) {
		t.Fatal("Disconnect of a seated player reported false")
	}
	if _, err := s.AddPlayer("b"); !errors.Is(err, game.ErrRoomFull) {
		t.Fatalf("join into a 1-seat room with a held seat: %v, want game.ErrRoomFull", err)
	}
	for tick := uint64(3); tick < 12; tick++ {
		s.Advance(tick, []game.PlayerInput{{Player: p.ID, Input: arena.Move(uint32(tick), 0, 1)}})
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
	case !samePos(s.World().Entity(p.Entity), pos, ex, ey):
		t.Fatalf("entity moved while disconnected from (%d, %d)", ex, ey)
	case s.World().Phase() != game.PhaseRunning:
		t.Fatalf("match with only a held seat is %v, want running", s.World().Phase())
	}

	back, err := s.Reconnect(p.ID)
	if err != nil || back != p || back.Disconnected {
		t.Fatalf("Reconnect: %+v, %v; want the same, connected player", back, err)
	}
	s.Advance(12, []game.PlayerInput{{Player: p.ID, Input: arena.Move(2, 1, 0)}})
	if x, _ := s.World().Entity(p.Entity).Pos2(pos); p.LastSeq != 2 || x == ex || p.Score <= score {
		t.Fatalf("after reconnect: LastSeq %d, x %d (was %d), score %d (was %d); want the player live again",
			p.LastSeq, x, ex, p.Score, score)
	}
}

// A held seat that is not reconnected in time is removed, and a running match
// left with no players ends as abandoned.
func TestSimHeldSeatExpires(t *testing.T) {
	s := newSim(arena.New(arena.Config{NPCs: -1}), game.Rules{MaxPlayers: 2}, 7)
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
	if !s.Advance(6, nil) || s.Result().Reason != game.EndAbandoned {
		t.Fatalf("match after the last held seat expired: phase %v, result %+v; want abandoned", s.World().Phase(), s.Result())
	}
	if s.World().Player(p.ID) != nil || s.World().Entity(p.Entity) != nil {
		t.Fatal("expired player or its entity still in the world")
	}
	if _, err := s.Reconnect(p.ID); !errors.Is(err, game.ErrMatchEnded) {
		t.Fatalf("Reconnect after the match ended: %v, want game.ErrMatchEnded", err)
	}
}

func TestSimReconnectGonePlayer(t *testing.T) {
	s := newSim(arena.New(arena.Config{NPCs: -1}), game.Rules{MaxPlayers: 2}, 7)
	a, _ := s.AddPlayer("a")
	b, _ := s.AddPlayer("b")
	s.Advance(1, nil)
	s.Disconnect(a.ID, 2)
	s.Advance(2, nil)
	s.Advance(3, nil)
	if s.World().Player(a.ID) != nil {
		t.Fatal("player a still seated after its hold")
	}
	if _, err := s.Reconnect(a.ID); !errors.Is(err, game.ErrPlayerGone) {
		t.Fatalf("Reconnect of an expired player: %v, want game.ErrPlayerGone", err)
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
		s := newSim(arena.New(arena.Config{}), game.Rules{MaxPlayers: 4}, 11)
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
			in := []game.PlayerInput{{Player: game.PlayerID(tick%3 + 1), Input: arena.Move(uint32(tick), int64(tick%3)-1, 1)}}
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

func samePos(e *game.Entity, pos game.Pos2Field, x, y int64) bool {
	ex, ey := e.Pos2(pos)
	return ex == x && ey == y
}
