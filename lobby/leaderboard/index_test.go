package leaderboard

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestIndex checks the B+tree against a sorted slice through random puts,
// including stale ones that must be ignored, at sizes from empty to three
// levels, and then while most entries move into a narrow range of keys,
// which empties leaves and makes the tree merge and shrink.
func TestIndex(t *testing.T) {
	tests := []struct {
		built, players, puts int
		spread               int64 // of keys; small for many ties
	}{
		{0, 200, 3000, 50},
		{1, 5, 200, 3},
		{2, 300, 3000, 1 << 40},
		{500, 700, 5000, 50},
		{5000, 20000, 30000, 1 << 40},
		{60_000, 60_000, 20000, 1 << 20}, // two levels of inner nodes
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("built=", tt.built), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tt.built), 9))
			model := map[string]record{}
			var recs []record
			for i := range tt.built {
				rec := record{player: fmt.Sprint("p", i), key: r.Int64N(tt.spread), version: 1}
				model[rec.player] = rec
				recs = append(recs, rec)
			}
			ix := buildIndex(recs)
			check(t, ix, model)
			put := func(i int, key int64) {
				p := fmt.Sprint("p", r.IntN(tt.players))
				old, had := model[p]
				rec := record{player: p, key: key, name: fmt.Sprint(i), version: old.version + 1}
				if had && r.IntN(5) == 0 {
					rec.version = old.version // a stale write: ignored
				} else {
					model[p] = rec
				}
				ix.put(nil, rec)
			}
			for i := range tt.puts {
				put(i, r.Int64N(tt.spread))
				if i%(tt.puts/4) == 0 {
					check(t, ix, model)
				}
			}
			check(t, ix, model)
			// Drain: most players move to one of three keys.
			for i := range tt.players {
				put(i, r.Int64N(3))
			}
			check(t, ix, model)
		})
	}
}

// check compares the index with the model and checks the tree's structure.
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
	checkTree(t, ix)
	// Walks from a sample of ranks, every rank of a small index.
	step := max(1, len(want)/200)
	for from := 0; from <= len(want); from += step {
		i := from
		ix.walk(int64(from), func(n *node) bool {
			w := want[i]
			if n.player != w.player || n.key != w.key || n.name != w.name {
				t.Fatalf("walk from %d: position %d is %s/%d/%s, want %s/%d/%s", from, i, n.player, n.key, n.name, w.player, w.key, w.name)
			}
			i++
			return i < from+70
		})
		if want := min(from+70, len(want)); i != want {
			t.Fatalf("walk from %d stopped at %d, want %d", from, i, want)
		}
	}
	for i, w := range want {
		if got := ix.before(w.key, w.player); got != int64(i) {
			t.Fatalf("%s: %d before, want %d", w.player, got, i)
		}
	}
}

// checkTree checks the B+tree's invariants: counts, separators, order,
// fill, equal depth, the leaf chain and the player map.
func checkTree(t *testing.T, ix *index) {
	t.Helper()
	var leaves []*leaf
	var prev *node
	depth := -1
	var visit func(in *inner, d int, root bool) int64
	visit = func(in *inner, d int, root bool) int64 {
		if in.n < 1 || in.n > fanout || !root && in.n < minFill {
			t.Fatalf("inner node with %d children", in.n)
		}
		var total int64
		for i := range in.n {
			var got int64
			var first *node
			last := prev // of the children before
			if i > 0 && last != nil && cmpKey(last.key, last.player, in.keys[i], in.players[i]) >= 0 {
				t.Fatalf("separator %s/%d not above %s/%d before it", in.players[i], in.keys[i], last.player, last.key)
			}
			if in.leafKids {
				l := in.leaves[i]
				if l.n > fanout || !(root && in.n == 1) && l.n < minFill {
					t.Fatalf("leaf with %d entries", l.n)
				}
				if depth == -1 {
					depth = d
				} else if depth != d {
					t.Fatalf("leaves at depths %d and %d", depth, d)
				}
				leaves = append(leaves, l)
				for j := range l.n {
					n := l.ents[j]
					if n.key != l.keys[j] || ix.players[n.player] != n {
						t.Fatalf("leaf entry %d: key %d, node %+v", j, l.keys[j], n)
					}
					if prev != nil && cmpKey(prev.key, prev.player, n.key, n.player) >= 0 {
						t.Fatalf("%s/%d after %s/%d", n.player, n.key, prev.player, prev.key)
					}
					if first == nil {
						first = n
					}
					prev = n
				}
				got = int64(l.n)
			} else {
				got = visit(in.inners[i], d+1, false)
				if got > 0 {
					first = firstAfter(ix, last)
				}
			}
			if got != in.counts[i] {
				t.Fatalf("child %d counted %d, holds %d", i, in.counts[i], got)
			}
			if i > 0 && first != nil && cmpKey(in.keys[i], in.players[i], first.key, first.player) > 0 {
				t.Fatalf("separator %s/%d above child's first %s/%d", in.players[i], in.keys[i], first.player, first.key)
			}
			total += got
		}
		return total
	}
	if n := visit(ix.root, 0, true); n != ix.size {
		t.Fatalf("tree holds %d, size says %d", n, ix.size)
	}
	for i, l := range leaves {
		var next *leaf
		if i+1 < len(leaves) {
			next = leaves[i+1]
		}
		if l.next != next {
			t.Fatalf("leaf %d of %d: next is wrong", i, len(leaves))
		}
	}
}

// firstAfter returns the entry right after n in order (the first if nil).
func firstAfter(ix *index, n *node) *node {
	var from int64
	if n != nil {
		from = ix.before(n.key, n.player) + 1
	}
	var out *node
	ix.walk(from, func(m *node) bool { out = m; return false })
	return out
}
