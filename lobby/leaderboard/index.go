package leaderboard

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"sync"
)

// index is the embedded store's in-memory view of one season of one board:
// an order-statistic treap (a binary search tree kept balanced by random
// heap priorities, each node counting its subtree) ordered by (key, player),
// plus a map from player to node. Rank, insert, delete and "the k-th entry"
// are O(log n) expected. bbolt holds the truth; an index is rebuilt from it
// at open and updated after each commit.
type index struct {
	mu      sync.RWMutex // guards root, players and every node
	root    *node
	players map[string]*node
}

// node is one entry. key is the board's sortKey of the score. A descent
// touches key, left, right, size and, on ties, player: they and the rest
// fit one 64-byte cache line, and nodes of a bulk-built index are
// allocated aligned to lines, so a descent misses the cache once per level.
// Fields only read for output live in extra.
type node struct {
	key     int64
	left    *node
	right   *node
	size    int32 // of the subtree rooted here
	prio    uint32
	player  string
	extra   *nodeExtra
	version uint64 // of the stored record; a lower one is stale
}

type nodeExtra struct {
	name    string
	updated int64 // Unix nanoseconds
}

// record is an entry as stored.
type record struct {
	player  string
	name    string
	key     int64
	updated int64
	version uint64
}

func newIndex() *index { return &index{players: make(map[string]*node)} }

// buildIndex builds an index from records in any order, in O(n log n) for
// the sort and O(n) for the tree.
func buildIndex(recs []record) *index {
	ix := &index{players: make(map[string]*node, len(recs))}
	slices.SortFunc(recs, func(a, b record) int {
		return cmpKey(a.key, a.player, b.key, b.player)
	})
	nodes := make([]node, len(recs)) // one allocation for the lot
	extras := make([]nodeExtra, len(recs))
	// A Cartesian tree of sorted nodes by priority: the stack holds the
	// right spine; a node pops every lower-priority node as its left child.
	var spine []*node
	for i := range recs {
		n := &nodes[i]
		n.extra = &extras[i]
		n.set(recs[i])
		n.prio = rand.Uint32()
		ix.players[n.player] = n
		var last *node
		for len(spine) > 0 && spine[len(spine)-1].prio < n.prio {
			last = spine[len(spine)-1]
			spine = spine[:len(spine)-1]
		}
		n.left = last
		if len(spine) > 0 {
			spine[len(spine)-1].right = n
		}
		spine = append(spine, n)
	}
	if len(spine) > 0 {
		ix.root = spine[0]
		fixSizes(ix.root)
	}
	return ix
}

func fixSizes(n *node) int32 {
	if n == nil {
		return 0
	}
	n.size = 1 + fixSizes(n.left) + fixSizes(n.right)
	return n.size
}

func (n *node) set(r record) {
	n.key, n.player, n.version = r.key, r.player, r.version
	n.extra.name, n.extra.updated = r.name, r.updated
	n.size = 1
}

func size(n *node) int32 {
	if n == nil {
		return 0
	}
	return n.size
}

func (n *node) fix() { n.size = 1 + size(n.left) + size(n.right) }

func cmpKey(ak int64, ap string, bk int64, bp string) int {
	if c := cmp.Compare(ak, bk); c != 0 {
		return c
	}
	return cmp.Compare(ap, bp)
}

// put applies a committed record unless the index already holds a newer
// one: bbolt commits in order, but the goroutines that apply commits to the
// index may run in any order. The caller holds ix.mu for writing.
func (ix *index) put(r record) {
	n, ok := ix.players[r.player]
	if ok {
		if n.version >= r.version {
			return
		}
		if n.key == r.key {
			n.extra.name, n.extra.updated, n.version = r.name, r.updated, r.version
			return
		}
		ix.root = remove(ix.root, n.key, n.player)
	} else {
		n = &node{extra: &nodeExtra{}}
		ix.players[r.player] = n
	}
	n.set(r)
	n.left, n.right = nil, nil
	n.prio = rand.Uint32()
	ix.root = insert(ix.root, n)
}

func insert(t, n *node) *node {
	if t == nil {
		return n
	}
	if n.prio > t.prio {
		n.left, n.right = split(t, n.key, n.player)
		n.fix()
		return n
	}
	if cmpKey(n.key, n.player, t.key, t.player) < 0 {
		t.left = insert(t.left, n)
	} else {
		t.right = insert(t.right, n)
	}
	t.fix()
	return t
}

// split divides t into the nodes before (key, player) and the rest.
func split(t *node, key int64, player string) (before, rest *node) {
	if t == nil {
		return nil, nil
	}
	if cmpKey(t.key, t.player, key, player) < 0 {
		t.right, rest = split(t.right, key, player)
		t.fix()
		return t, rest
	}
	before, t.left = split(t.left, key, player)
	t.fix()
	return before, t
}

func remove(t *node, key int64, player string) *node {
	if t == nil {
		return nil
	}
	switch c := cmpKey(key, player, t.key, t.player); {
	case c == 0:
		return merge(t.left, t.right)
	case c < 0:
		t.left = remove(t.left, key, player)
	default:
		t.right = remove(t.right, key, player)
	}
	t.fix()
	return t
}

// merge joins two treaps, every node of a before every node of b.
func merge(a, b *node) *node {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	if a.prio > b.prio {
		a.right = merge(a.right, b)
		a.fix()
		return a
	}
	b.left = merge(a, b.left)
	b.fix()
	return b
}

// before counts the entries ordered before (key, player): a 0-based rank.
// The caller holds ix.mu.
func (ix *index) before(key int64, player string) int64 {
	var n int64
	for t := ix.root; t != nil; {
		if cmpKey(t.key, t.player, key, player) < 0 {
			n += int64(size(t.left)) + 1
			t = t.right
		} else {
			t = t.left
		}
	}
	return n
}

// rankOf returns the 1-based rank of a record the index holds or held:
// if the player has a newer one, that one is not counted.
func (ix *index) rankOf(r record) int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	rank := ix.before(r.key, r.player) + 1
	if n := ix.players[r.player]; n != nil && n.version != r.version && cmpKey(n.key, n.player, r.key, r.player) < 0 {
		rank--
	}
	return rank
}

// count returns the number of entries. The caller holds ix.mu.
func (ix *index) count() int64 { return int64(size(ix.root)) }

// walk calls fn on entries in order from 0-based rank from until fn returns
// false or the entries run out. The caller holds ix.mu.
func (ix *index) walk(from int64, fn func(*node) bool) {
	if from < 0 || from >= ix.count() {
		return
	}
	// The stack holds the nodes still to visit whose left subtrees are done.
	stack := make([]*node, 0, 64)
	k := int32(from)
	for t := ix.root; t != nil; {
		ls := size(t.left)
		switch {
		case k < ls:
			stack = append(stack, t)
			t = t.left
		case k == ls:
			stack = append(stack, t)
			t = nil
		default:
			k -= ls + 1
			t = t.right
		}
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !fn(n) {
			return
		}
		for c := n.right; c != nil; c = c.left {
			stack = append(stack, c)
		}
	}
}

// entry returns the node as an Entry of board bi.
func (n *node) entry(bi *boardInfo, rank int64) Entry {
	return bi.entry(n.player, n.extra.name, n.key, n.extra.updated, rank)
}
