package arena_test

import (
	"testing"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
)

// TestArenaSteps checks the steps PROTOCOL.md gives a predicting client: 80
// steps of pos along an axis, 57 on each axis on a diagonal, and the heading
// of the direction, 32 per eighth of a turn.
func TestArenaSteps(t *testing.T) {
	h := arena.Fields()
	for _, tc := range []struct {
		dx, dy, wantX, wantY int64
		heading              uint32
	}{
		{1, 0, 80, 0, 0}, {1, 1, 57, 57, 32}, {0, 1, 0, 80, 64}, {-1, 1, -57, 57, 96},
		{-1, 0, -80, 0, 128}, {-1, -1, -57, -57, 160}, {0, -1, 0, -80, 192}, {5, -9, 57, -57, 224},
	} {
		s, err := game.NewSim(arena.New(arena.Config{NPCs: -1, PickupOdds: -1, TouchRadius: -1}), game.Rules{MaxPlayers: 1}, 3)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.AddPlayer("a")
		if err != nil {
			t.Fatal(err)
		}
		s.World().Entity(p.Entity).SetPos2(h.AvatarPos, 8000, 8000) // away from the walls
		s.Advance(1, []game.PlayerInput{{Player: p.ID, Input: arena.Move(1, tc.dx, tc.dy)}})
		e := s.World().Entity(p.Entity)
		x, y := e.Pos2(h.AvatarPos)
		if x-8000 != tc.wantX || y-8000 != tc.wantY || e.Angle(h.Heading) != tc.heading {
			t.Errorf("input (%d, %d): step (%d, %d) heading %d, want (%d, %d) heading %d",
				tc.dx, tc.dy, x-8000, y-8000, e.Angle(h.Heading), tc.wantX, tc.wantY, tc.heading)
		}
	}
}
