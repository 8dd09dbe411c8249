package directory

import (
	"testing"
	"time"
)

func TestMemory(t *testing.T) {
	testDirectory(t, func(t *testing.T) *env {
		c := newClock()
		m := NewMemory(grace)
		m.Now = c.Now
		return &env{dir: m, clock: c, pass: c.Advance}
	})
}

// TestMemorySweep: expired rooms and nodes that nobody asks for are dropped
// by the sweep, with their codes and list entries.
func TestMemorySweep(t *testing.T) {
	c := newClock()
	m := NewMemory(0)
	m.Now = c.Now
	for _, id := range []string{"a", "b", "c"} {
		r := room(id, "duel")
		if id == "c" {
			r.Private, r.Code = true, "CCCC"
		}
		mustCreate(t, m, r, time.Second)
	}
	if err := m.Heartbeat(ctx, Node{ID: "n1"}, time.Second); err != nil {
		t.Fatal(err)
	}
	c.Advance(memSweepEvery)
	mustCreate(t, m, room("d", "arena"), time.Hour) // sweeps
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.rooms) != 1 || len(m.codes) != 0 || len(m.nodes) != 0 || len(m.lists[""]) != 1 || len(m.lists["duel"]) != 0 {
		t.Fatalf("after the sweep: %d rooms, %d codes, %d nodes, lists %v", len(m.rooms), len(m.codes), len(m.nodes), m.lists)
	}
}

// TestMemoryZero: the zero Memory works, with the real clock.
func TestMemoryZero(t *testing.T) {
	var m Memory
	mustCreate(t, &m, room("a", "duel"), time.Hour)
	if err := m.Assign(ctx, "a", players(4), time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := mustRoom(t, &m, "a"); r.Free(time.Now(), DefaultGrace) != 0 {
		t.Fatalf("free seats after filling with the default grace: %+v", r)
	}
}
