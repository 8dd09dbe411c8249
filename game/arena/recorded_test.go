package arena_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
)

// TestArenaPlaysItsRecordedMatch pins the arena's rules: 16 walkers for
// 3,000 ticks from seed 7 must give the state checksums (every 500 ticks)
// and the final scores recorded here, with the default touch radius and a
// wide one, so that a change meant to be only faster (the arena is the
// reference workload of every benchmark) cannot change the game.
func TestArenaPlaysItsRecordedMatch(t *testing.T) {
	want := map[int32]struct {
		sums   []uint32
		scores []int64
	}{
		0:  {[]uint32{0x5487ea56, 0x9b90614d, 0xaababed5, 0x49da7fe1, 0x718a52e3, 0x71d2e967}, []int64{25, 25, 17, 11, 16, 20, 21, 19, 19, 21, 25, 13, 22, 21, 18, 25}},
		40: {[]uint32{0xc11d09f2, 0x9ed74e63, 0x2d0c4394, 0xcb5d15e0, 0xa116cc59, 0xfe0c2ac5}, []int64{12, 41, 35, 27, 18, 22, 30, 24, 21, 16, 19, 19, 22, 25, 17, 31}},
	}
	for _, radius := range []int32{0, 40} {
		sim, err := game.NewSim(arena.New(arena.Config{TouchRadius: radius}), game.Rules{MaxPlayers: 16, MinPlayers: 16}, 7)
		if err != nil {
			t.Fatal(err)
		}
		var ps []*game.Player
		for range 16 {
			p, err := sim.AddPlayer("p")
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
		dirs := [9][2]int64{{1, 0}, {1, 1}, {0, 1}, {-1, 1}, {-1, 0}, {-1, -1}, {0, -1}, {1, -1}, {0, 0}}
		seq := uint32(0)
		var sums []uint32
		for tick := uint64(1); tick <= 3000; tick++ {
			var in []game.PlayerInput
			seq++
			for _, p := range ps {
				k := (tick/20 + uint64(p.ID)) % 9
				in = append(in, game.PlayerInput{Player: p.ID, Input: arena.Move(seq, dirs[k][0], dirs[k][1])})
			}
			sim.Advance(tick, in)
			if tick%500 == 0 {
				sums = append(sums, sim.World().Checksum())
			}
		}
		var scores []int64
		for _, p := range sim.World().Players() {
			scores = append(scores, p.Score)
		}
		if w := want[radius]; !slices.Equal(sums, w.sums) || !slices.Equal(scores, w.scores) {
			t.Errorf("touch radius %d: checksums %s scores %v; recorded %s %v", radius, hex(sums), scores, hex(w.sums), w.scores)
		}
	}
}

func hex(sums []uint32) string { return fmt.Sprintf("%08x", sums) }
