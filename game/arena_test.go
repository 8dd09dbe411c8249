package game

import "testing"

// TestArenaSteps checks the steps PROTOCOL.md gives a predicting client: 80
// wire units along an axis, 57 on each axis on a diagonal, and the angle of
// the direction, 32 per eighth of a turn.
func TestArenaSteps(t *testing.T) {
	for _, tc := range []struct {
		dx, dy, wantX, wantY int32
		angle                uint8
	}{
		{1, 0, 80, 0, 0}, {1, 1, 57, 57, 32}, {0, 1, 0, 80, 64}, {-1, 1, -57, 57, 96},
		{-1, 0, -80, 0, 128}, {-1, -1, -57, -57, 160}, {0, -1, 0, -80, 192}, {5, -9, 57, -57, 224},
	} {
		s := NewSim(NewArena(ArenaConfig{NPCs: -1, PickupOdds: -1, TouchRadius: -1}), Rules{MaxPlayers: 1}, 3)
		p, err := s.AddPlayer("a")
		if err != nil {
			t.Fatal(err)
		}
		e := s.World().Entity(p.Entity)
		e.X, e.Y = 8000, 8000 // away from the walls
		s.Advance(1, []PlayerInput{{Player: p.ID, Input: Input{Seq: 1, DX: tc.dx, DY: tc.dy}}})
		e = s.World().Entity(p.Entity)
		if e.X-8000 != tc.wantX || e.Y-8000 != tc.wantY || e.Angle != tc.angle {
			t.Errorf("input (%d, %d): step (%d, %d) angle %d, want (%d, %d) angle %d",
				tc.dx, tc.dy, e.X-8000, e.Y-8000, e.Angle, tc.wantX, tc.wantY, tc.angle)
		}
	}
}
