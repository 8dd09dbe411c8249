package leaderboard

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// TestIndex checks the treap against a sorted slice through random puts,
// including stale ones that must be ignored.
func TestIndex(t *testing.T) {
	for _, built := range []int{0, 1, 2, 500} {
		t.Run(fmt.Sprint("built=", built), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(built), 9))
			model := map[string]record{}
			var recs []record
			for i := range built {
				rec := record{player: fmt.Sprint("p", i), key: r.Int64N(50), version: 1}
				model[rec.player] = rec
				recs = append(recs, rec)
			}
			ix := buildIndex(recs)
			check(t, ix, model)
			for i := range 3000 {
				p := fmt.Sprint("p", r.IntN(built+200))
				old, had := model[p]
				rec := record{player: p, key: r.Int64N(50), name: fmt.Sprint(i), version: old.version + 1}
				if had && r.IntN(5) == 0 {
					rec.version = old.version // a stale write: ignored
				} else {
					model[p] = rec
				}
				ix.put(rec)
				if i%300 == 0 {
					check(t, ix, model)
				}
			}
			check(t, ix, model)
		})
	}
}

func check(t *testing.T, ix *index, model map[string]record) {
	t.Helper()
	var want []record
	for _, r := range model {
		want = append(want, r)
	}
	slices.SortFunc(want, func(a, b record) int { return cmpKey(a.key, a.player, b.key, b.player) })
	if got := ix.count(); got != int64(len(want)) {
		t.Fatalf("count %d, want %d", got, len(want))
	}
	if len(ix.players) != len(want) {
		t.Fatalf("%d players mapped, want %d", len(ix.players), len(want))
	}
	for from := range int64(len(want)) + 1 {
		i := from
		ix.walk(from, func(n *node) bool {
			w := want[i]
			if n.player != w.player || n.key != w.key || n.extra.name != w.name {
				t.Fatalf("walk from %d: position %d is %s/%d/%s, want %s/%d/%s", from, i, n.player, n.key, n.extra.name, w.player, w.key, w.name)
			}
			i++
			return i < from+3
		})
		if want := min(from+3, int64(len(want))); i != want {
			t.Fatalf("walk from %d stopped at %d, want %d", from, i, want)
		}
	}
	for i, w := range want {
		if got := ix.before(w.key, w.player); got != int64(i) {
			t.Fatalf("%s: %d before, want %d", w.player, got, i)
		}
	}
}

func TestNodeFitsCacheLine(t *testing.T) {
	if s := unsafe.Sizeof(node{}); s != 64 {
		t.Fatalf("node is %d bytes, want 64", s)
	}
}
