package arena_test

import (
	"testing"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
	"github.com/tickwire/tickwire/game/gametest"
)

// walkers is the reference workload's 16 players, each heading one of the
// eight directions (or standing still) for 20 ticks at a time.
var walkers = gametest.Config{
	Game:    func() game.Game { return arena.New(arena.Config{}) },
	Players: 16,
	Seed:    1,
	Input: func(w *game.World, p *game.Player) (game.Input, bool) {
		k := (w.Tick()/20 + uint64(p.ID)) % 9
		dirs := [9][2]int64{{1, 0}, {1, 1}, {0, 1}, {-1, 1}, {-1, 0}, {-1, -1}, {0, -1}, {1, -1}, {0, 0}}
		return arena.Move(0, dirs[k][0], dirs[k][1]), w.Tick()%2 == 0
	},
}

// BenchmarkArenaTick is what one arena tick costs a room: 16 players and 48
// orbs stepped, and the state checksum.
func BenchmarkArenaTick(b *testing.B) { gametest.Bench(b, walkers) }

// TestArenaDeterministic: the same seed and inputs replay the same match.
func TestArenaDeterministic(t *testing.T) { gametest.Deterministic(t, walkers, 400) }
