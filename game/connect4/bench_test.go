package connect4_test

import (
	"testing"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/connect4"
	"github.com/tickwire/tickwire/game/gametest"
)

// players drop a disc on their turn, into a column that depends on the move
// number and the player, so games differ and end by wins and draws alike.
var players = gametest.Config{
	Game: func() game.Game { return connect4.New() },
	Seed: 1,
	Messages: func(w *game.World, p *game.Player) []game.Message {
		h := connect4.Fields()
		if w.Enum(h.Turn) != p.Enum(h.Color) {
			return nil
		}
		return []game.Message{connect4.Play(byte((w.Int(h.Moves)*3 + int64(p.ID) + int64(w.Tick()/50)) % connect4.Columns))}
	},
	Warmup: 1,
}

// BenchmarkConnect4Tick is what one connect four tick costs a room: a move
// validated and played (a win checked) and the checksum of 46 room fields.
func BenchmarkConnect4Tick(b *testing.B) { gametest.Bench(b, players) }

// TestConnect4Deterministic: the same moves replay the same game, which ends
// by the game's own rule.
func TestConnect4Deterministic(t *testing.T) {
	if res := gametest.Deterministic(t, players, 200); res == nil || res.Reason != game.EndGame {
		t.Fatalf("the scripted game did not end by the game's rules: %+v", res)
	}
}
