package netcode

import (
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/flate"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
)

// TestArenaWireSize plays the reference arena room (16 players, 48 orbs) for
// 400 ticks, each player changing direction about once a second, and reports
// the shared delta's average size on the wire per frame, raw and deflated as
// the server sends it (frame header included): the figure to compare wire
// size by across encodings (BENCHMARKS.md). Run with -v to see it.
func TestArenaWireSize(t *testing.T) {
	sim := newSim(arena.New(arena.Config{}), game.Rules{}, 1)
	r := rand.New(rand.NewPCG(7, 7))
	for range 16 {
		if _, err := sim.AddPlayer("p"); err != nil {
			t.Fatal(err)
		}
	}
	c := newCodec(arena.Fields().Schema)
	enc := newEncoder(c)
	var prev, cur roomState
	var raw, deflated, frames int
	seq := uint32(0)
	for tick := uint64(1); tick <= 400; tick++ {
		var in []game.PlayerInput
		for _, p := range sim.World().Players() {
			if r.IntN(20) == 0 {
				seq++
				in = append(in, game.PlayerInput{Player: p.ID, Input: arena.Move(seq, int64(r.IntN(3)-1), int64(r.IntN(3)-1))})
			}
		}
		sim.Advance(tick, in)
		prev, cur = cur, prev
		cur.capture(sim)
		if tick <= 20 { // past the joins and the first inputs
			continue
		}
		f := newFrame(enc.encodeDelta(&prev, &cur), tick)
		f.compress(flate.BestSpeed)
		raw, deflated, frames = raw+len(f.raw), deflated+len(f.deflated), frames+1
		f.release()
	}
	t.Logf("arena delta per frame: %.1f bytes raw, %.1f bytes deflated (%d frames)",
		float64(raw)/float64(frames), float64(deflated)/float64(frames), frames)
}
