package netcode

import (
	"testing"
	"unsafe"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
)

// footprint is the memory a captured state holds: its slices' backing
// arrays (by capacity) and the struct itself; strings are shared with the
// world, not copied.
func (s *roomState) footprint() int {
	return int(unsafe.Sizeof(*s)) +
		cap(s.entities)*int(unsafe.Sizeof(entityState{})) + cap(s.vals)*8 + cap(s.texts)*int(unsafe.Sizeof("")) +
		cap(s.players)*int(unsafe.Sizeof(playerState{})) + cap(s.pvals)*8 + cap(s.ptexts)*int(unsafe.Sizeof("")) +
		cap(s.room)*8 + cap(s.roomTexts)*int(unsafe.Sizeof(""))
}

// BenchmarkCapture copies the reference arena room (64 entities, 16
// players) into a state, as each room does once per tick (hot path), and
// reports what one state of the room's history holds: a room keeps
// historyLen of them, so bytes/state x historyLen / 16 is the history's
// share of each client's memory.
func BenchmarkCapture(b *testing.B) {
	sim := arenaSim(b)
	var h history
	for range historyLen {
		h.next().capture(sim)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.next().capture(sim)
	}
	total := 0
	for i := range h.states {
		total += h.states[i].footprint()
	}
	b.ReportMetric(float64(total)/historyLen, "bytes/state")
	b.ReportMetric(float64(total)/16, "history-bytes/client")
}

// TestCaptureCopiesEveryValue: a captured state keeps the world's values
// at that tick, whatever the world does next.
func TestCaptureCopiesEveryValue(t *testing.T) {
	sim := newSim(arena.New(arena.Config{}), game.Rules{}, 1)
	for range 4 {
		if _, err := sim.AddPlayer("p"); err != nil {
			t.Fatal(err)
		}
	}
	sim.Advance(1, nil)
	var a roomState
	a.capture(sim)
	want := a.checksum
	ents := len(a.entities)
	for tick := uint64(2); tick < 40; tick++ {
		sim.Advance(tick, nil)
	}
	var b roomState
	b.capture(sim)
	if a.checksum != want || len(a.entities) != ents || b.tick == a.tick {
		t.Fatalf("an earlier state changed: checksum %08x (was %08x), %d entities (was %d)", a.checksum, want, len(a.entities), ents)
	}
	// A state re-captured into old storage holds exactly what a fresh one does.
	a.capture(sim)
	if a.checksum != b.checksum || len(a.entities) != len(b.entities) || len(a.vals) != len(b.vals) {
		t.Fatalf("re-captured state differs from a fresh one")
	}
	for i := range a.vals {
		if a.vals[i] != b.vals[i] {
			t.Fatalf("value %d: %d, fresh %d", i, a.vals[i], b.vals[i])
		}
	}
}
