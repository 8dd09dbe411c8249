package bots

import "testing"

// TestConnect4Choose: the connect four bot takes a win, else blocks one,
// else does not play under a square that hands the opponent a win.
func TestConnect4Choose(t *testing.T) {
	var b [c4Rows][c4Cols]int64
	b[0][0], b[0][1], b[0][2] = 1, 1, 1 // red threatens column 3
	b[0][6], b[1][6], b[2][6] = 2, 2, 2 // yellow threatens column 6
	for _, tc := range []struct {
		color, want int64
	}{{1, 3}, {2, 6}} {
		if got := NewConnect4(1).choose(&b, tc.color); got != tc.want {
			t.Errorf("colour %d chose column %d, want %d (its win)", tc.color, got, tc.want)
		}
	}
	var c [c4Rows][c4Cols]int64
	c[0][0], c[0][1], c[0][2] = 1, 1, 1
	for seed := range uint64(20) {
		if got := NewConnect4(seed).choose(&c, 2); got != 3 {
			t.Fatalf("seed %d: yellow chose %d, want 3 (the block)", seed, got)
		}
	}
	// Red on 1..3 of row 1 would win at (1, 0) or (1, 4): playing column 0
	// or 4 at row 0 lets it. Yellow, with no win nor block, avoids them.
	var d [c4Rows][c4Cols]int64
	d[0][1], d[0][2], d[0][3] = 2, 2, 1
	d[1][1], d[1][2], d[1][3] = 1, 1, 1
	d[0][5], d[0][6] = 2, 1
	for seed := range uint64(20) {
		if got := NewConnect4(seed).choose(&d, 2); got == 0 || got == 4 {
			t.Fatalf("seed %d: yellow played column %d, under red's winning square", seed, got)
		}
	}
}
