package tanks_test

import (
	"testing"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/gametest"
	"github.com/tickwire/tickwire/game/tanks"
)

// battle4v4 is four tanks a side, each driving in a pattern of its own and
// asking to fire every fifth tick.
var battle4v4 = gametest.Config{
	Game:    func() game.Game { return tanks.New(tanks.Config{}) },
	Players: 8,
	Seed:    1,
	Input: func(w *game.World, p *game.Player) (game.Input, bool) {
		k := int64(w.Tick()/15+uint64(p.ID)) % 3
		return tanks.Drive(0, k-1, 1), w.Tick()%2 == 0
	},
	Messages: func(w *game.World, p *game.Player) []game.Message {
		if (w.Tick()+uint64(p.ID))%5 == 0 {
			return []game.Message{tanks.Fire()}
		}
		return nil
	},
}

// BenchmarkTanksTick is what one tick of a 4 against 4 battle costs a room:
// tanks driven, shells spawned, flown, landed and removed, and the checksum.
func BenchmarkTanksTick(b *testing.B) { gametest.Bench(b, battle4v4) }

// TestTanksDeterministic: the same seed and inputs replay the same battle,
// to the same end.
func TestTanksDeterministic(t *testing.T) {
	if res := gametest.Deterministic(t, battle4v4, 20000); res == nil || res.Reason != game.EndGame {
		t.Fatalf("the scripted battle did not end by the game's rules: %+v", res)
	}
}
