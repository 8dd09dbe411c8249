package leaderboard

import (
	"cmp"
	"slices"
	"sync"
)

// index is the embedded store's in-memory view of one season of one board:
// an order-statistic B+tree ordered by (key, player), whose inner nodes
// count the entries under each child, plus a map from player to entry.
// Rank, insert, delete and "the k-th entry" are O(log n), and with 64-way
// nodes a descent through a million entries visits four nodes, the upper
// ones usually in cache. bbolt holds the truth; an index is rebuilt from it
// at open and updated after each commit.
type index struct {
	mu      sync.RWMutex // guards everything below but dirty
	root    *inner       // never nil; its children may be leaves
	size    int64
	players map[string]*node
	dirty   []*node // put since the last checkpoint began; the BoltStore writer's own
}

// node is one player's entry. key is the board's sortKey of the score.
type node struct {
	key     int64
	player  string
	version uint64 // of the stored record; a lower one is stale
	name    string
	updated int64 // Unix nanoseconds
	dirty   bool  // in index.dirty
}

// record is an entry as stored.
type record struct {
	player  string
	name    string
	key     int64
	updated int64
	version uint64
}

const (
	fanout  = 64         // most entries in a leaf, children of an inner node
	minFill = fanout / 4 // fewer, and a node is merged or refilled from a sibling
	bulk    = fanout * 3 / 4
)

// leaf holds entries in order. Arrays have a spare slot: a node overflows
// into it, then splits.
type leaf struct {
	n    int
	keys [fanout + 1]int64
	ents [fanout + 1]*node
	next *leaf
}

// inner routes by separators: keys[i], players[i] is at most every entry
// under child i and more than every entry under child i-1; slot 0 is unused
// by searches. counts[i] is how many entries are under child i.
type inner struct {
	n        int
	leafKids bool // children are leaves, else inner nodes
	keys     [fanout + 1]int64
	players  [fanout + 1]string
	counts   [fanout + 1]int64
	leaves   [fanout + 1]*leaf
	inners   [fanout + 1]*inner
}

func newIndex() *index {
	return &index{root: &inner{n: 1, leafKids: true, leaves: [fanout + 1]*leaf{0: {}}}, players: make(map[string]*node)}
}

func cmpKey(ak int64, ap string, bk int64, bp string) int {
	if c := cmp.Compare(ak, bk); c != 0 {
		return c
	}
	return cmp.Compare(ap, bp)
}

// child returns the child of in whose range holds (key, player).
func (in *inner) child(key int64, player string) int {
	lo, hi := 1, in.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if k := in.keys[m]; k < key || k == key && in.players[m] <= player {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// search returns the position of the first entry of l not before (key,
// player). It reads an entry's player, which costs a cache miss, only on a
// tie of keys.
func (l *leaf) search(key int64, player string) int {
	lo, hi := 0, l.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if k := l.keys[m]; k < key || k == key && l.ents[m].player < player {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func (in *inner) total() int64 {
	var t int64
	for _, c := range in.counts[:in.n] {
		t += c
	}
	return t
}

// buildIndex builds an index from records in any order: a sort, then the
// tree bottom up with nodes three-quarters full.
func buildIndex(recs []record) *index {
	ix := newIndex()
	if len(recs) == 0 {
		return ix
	}
	slices.SortFunc(recs, func(a, b record) int { return cmpKey(a.key, a.player, b.key, b.player) })
	nodes := make([]node, len(recs)) // one allocation for the lot
	leaves := make([]*leaf, 0, len(recs)/bulk+1)
	at := 0
	for _, part := range spread(len(recs), bulk) {
		l := &leaf{n: part}
		for j, r := range recs[at : at+part] {
			n := &nodes[at+j]
			*n = node{key: r.key, player: r.player, version: r.version, name: r.name, updated: r.updated}
			l.keys[j], l.ents[j] = n.key, n
			ix.players[n.player] = n
		}
		at += part
		if len(leaves) > 0 {
			leaves[len(leaves)-1].next = l
		}
		leaves = append(leaves, l)
	}
	ix.size = int64(len(recs))
	// The first level of inner nodes, then levels above until one is left.
	var level []*inner
	at = 0
	for _, part := range spread(len(leaves), bulk) {
		in := &inner{n: part, leafKids: true}
		for j, l := range leaves[at : at+part] {
			in.leaves[j], in.counts[j] = l, int64(l.n)
			in.keys[j], in.players[j] = l.keys[0], l.ents[0].player
		}
		at += part
		level = append(level, in)
	}
	for len(level) > 1 {
		var up []*inner
		at = 0
		for _, part := range spread(len(level), bulk) {
			in := &inner{n: part}
			for j, c := range level[at : at+part] {
				in.inners[j], in.counts[j] = c, c.total()
				in.keys[j], in.players[j] = c.keys[0], c.players[0]
			}
			at += part
			up = append(up, in)
		}
		level = up
	}
	ix.root = level[0]
	return ix
}

// spread splits n items into as few parts of at most per as it can, of
// sizes within one of each other.
func spread(n, per int) []int {
	parts := (n + per - 1) / per
	out := make([]int, parts)
	for i := range out {
		out[i] = n / parts
		if i < n%parts {
			out[i]++
		}
	}
	return out
}

// put applies a committed record unless the index already holds a newer
// one, and returns the player's node. n is that node if the caller has it,
// or nil. The caller holds ix.mu for writing.
func (ix *index) put(n *node, r record) *node {
	if n == nil {
		n = ix.players[r.player]
	}
	switch {
	case n == nil:
		n = &node{player: r.player}
		ix.players[r.player] = n
	case n.version >= r.version:
		return n
	case n.key == r.key:
		n.name, n.updated, n.version = r.name, r.updated, r.version
		ix.markDirty(n)
		return n
	default:
		ix.remove(n.key, n.player)
	}
	n.key, n.name, n.updated, n.version = r.key, r.name, r.updated, r.version
	ix.insert(n)
	ix.markDirty(n)
	return n
}

func (ix *index) markDirty(n *node) {
	if !n.dirty {
		n.dirty = true
		ix.dirty = append(ix.dirty, n)
	}
}

// insert adds n, which the tree does not hold.
func (ix *index) insert(n *node) {
	ix.size++
	right, key, player := insertInner(ix.root, n)
	if right == nil {
		return
	}
	old := ix.root
	root := &inner{n: 2}
	root.inners[0], root.counts[0] = old, old.total()
	root.inners[1], root.counts[1] = right, right.total()
	root.keys[1], root.players[1] = key, player
	ix.root = root
}

// insertInner adds n under in. If in overflows, it splits, and the new right
// half and its separator are returned.
func insertInner(in *inner, n *node) (*inner, int64, string) {
	i := in.child(n.key, n.player)
	in.counts[i]++
	if in.leafKids {
		l := in.leaves[i]
		if r := insertLeaf(l, n); r != nil {
			in.counts[i] = int64(l.n)
			in.insertKid(i+1, r.keys[0], r.ents[0].player, int64(r.n))
			in.leaves[i+1] = r
		}
	} else if r, key, player := insertInner(in.inners[i], n); r != nil {
		c := in.inners[i]
		in.counts[i] = c.total()
		in.insertKid(i+1, key, player, r.total())
		in.inners[i+1] = r
	}
	if in.n <= fanout {
		return nil, 0, ""
	}
	half := in.n / 2
	r := &inner{n: in.n - half, leafKids: in.leafKids}
	copy(r.keys[:], in.keys[half:in.n])
	copy(r.players[:], in.players[half:in.n])
	copy(r.counts[:], in.counts[half:in.n])
	copy(r.leaves[:], in.leaves[half:in.n])
	copy(r.inners[:], in.inners[half:in.n])
	clear(in.players[half:])
	clear(in.leaves[half:])
	clear(in.inners[half:])
	in.n = half
	return r, r.keys[0], r.players[0]
}

// insertKid opens slot at for a child with the given separator and count;
// the caller sets the child.
func (in *inner) insertKid(at int, key int64, player string, count int64) {
	copy(in.keys[at+1:in.n+1], in.keys[at:in.n])
	copy(in.players[at+1:in.n+1], in.players[at:in.n])
	copy(in.counts[at+1:in.n+1], in.counts[at:in.n])
	copy(in.leaves[at+1:in.n+1], in.leaves[at:in.n])
	copy(in.inners[at+1:in.n+1], in.inners[at:in.n])
	in.keys[at], in.players[at], in.counts[at] = key, player, count
	in.leaves[at], in.inners[at] = nil, nil
	in.n++
}

// insertLeaf adds n to l; if l overflows, it splits and returns the new
// right half.
func insertLeaf(l *leaf, n *node) *leaf {
	at := l.search(n.key, n.player)
	copy(l.keys[at+1:l.n+1], l.keys[at:l.n])
	copy(l.ents[at+1:l.n+1], l.ents[at:l.n])
	l.keys[at], l.ents[at] = n.key, n
	l.n++
	if l.n <= fanout {
		return nil
	}
	half := l.n / 2
	r := &leaf{n: l.n - half, next: l.next}
	copy(r.keys[:], l.keys[half:l.n])
	copy(r.ents[:], l.ents[half:l.n])
	clear(l.ents[half:])
	l.n, l.next = half, r
	return r
}

// remove deletes the entry (key, player), which the tree holds.
func (ix *index) remove(key int64, player string) {
	ix.size--
	removeInner(ix.root, key, player)
	for !ix.root.leafKids && ix.root.n == 1 {
		ix.root = ix.root.inners[0]
	}
}

func removeInner(in *inner, key int64, player string) {
	i := in.child(key, player)
	in.counts[i]--
	if in.leafKids {
		l := in.leaves[i]
		at := l.search(key, player)
		copy(l.keys[at:], l.keys[at+1:l.n])
		copy(l.ents[at:], l.ents[at+1:l.n])
		l.n--
		l.ents[l.n] = nil
		if l.n < minFill && in.n > 1 {
			in.refillLeaf(i)
		}
		return
	}
	c := in.inners[i]
	removeInner(c, key, player)
	if c.n < minFill && in.n > 1 {
		in.refillInner(i)
	}
}

// refillLeaf mends the underfull leaf at i with a neighbour: it merges the
// two if they fit in one, else shares their entries evenly.
func (in *inner) refillLeaf(i int) {
	lo := max(i-1, 0)
	a, b := in.leaves[lo], in.leaves[lo+1]
	if a.n+b.n <= fanout {
		copy(a.keys[a.n:], b.keys[:b.n])
		copy(a.ents[a.n:], b.ents[:b.n])
		a.n += b.n
		a.next = b.next
		in.counts[lo] += in.counts[lo+1]
		in.removeKid(lo + 1)
		return
	}
	half := (a.n + b.n) / 2
	if a.n > half { // move a's tail to b's head
		k := a.n - half
		copy(b.keys[k:], b.keys[:b.n])
		copy(b.ents[k:], b.ents[:b.n])
		copy(b.keys[:k], a.keys[half:a.n])
		copy(b.ents[:k], a.ents[half:a.n])
		clear(a.ents[half:a.n])
		a.n, b.n = half, b.n+k
	} else { // move b's head to a's tail
		k := half - a.n
		copy(a.keys[a.n:], b.keys[:k])
		copy(a.ents[a.n:], b.ents[:k])
		copy(b.keys[:], b.keys[k:b.n])
		copy(b.ents[:], b.ents[k:b.n])
		clear(b.ents[b.n-k : b.n])
		a.n, b.n = half, b.n-k
	}
	in.counts[lo], in.counts[lo+1] = int64(a.n), int64(b.n)
	in.keys[lo+1], in.players[lo+1] = b.keys[0], b.ents[0].player
}

// refillInner is refillLeaf for inner children. Separators rotate through
// in: b's first child is bounded by in's separator for b.
func (in *inner) refillInner(i int) {
	lo := max(i-1, 0)
	a, b := in.inners[lo], in.inners[lo+1]
	b.keys[0], b.players[0] = in.keys[lo+1], in.players[lo+1]
	if a.n+b.n <= fanout {
		copy(a.keys[a.n:], b.keys[:b.n])
		copy(a.players[a.n:], b.players[:b.n])
		copy(a.counts[a.n:], b.counts[:b.n])
		copy(a.leaves[a.n:], b.leaves[:b.n])
		copy(a.inners[a.n:], b.inners[:b.n])
		a.n += b.n
		in.counts[lo] += in.counts[lo+1]
		in.removeKid(lo + 1)
		return
	}
	half := (a.n + b.n) / 2
	if a.n > half { // move a's tail to b's head
		k := a.n - half
		b.shift(k)
		copy(b.keys[:k], a.keys[half:a.n])
		copy(b.players[:k], a.players[half:a.n])
		copy(b.counts[:k], a.counts[half:a.n])
		copy(b.leaves[:k], a.leaves[half:a.n])
		copy(b.inners[:k], a.inners[half:a.n])
		clear(a.players[half:a.n])
		clear(a.leaves[half:a.n])
		clear(a.inners[half:a.n])
		a.n = half
	} else { // move b's head to a's tail
		k := half - a.n
		copy(a.keys[a.n:], b.keys[:k])
		copy(a.players[a.n:], b.players[:k])
		copy(a.counts[a.n:], b.counts[:k])
		copy(a.leaves[a.n:], b.leaves[:k])
		copy(a.inners[a.n:], b.inners[:k])
		a.n = half
		b.shift(-k)
	}
	in.counts[lo], in.counts[lo+1] = a.total(), b.total()
	in.keys[lo+1], in.players[lo+1] = b.keys[0], b.players[0]
}

// shift moves in's children k slots right, or -k slots left, dropping the
// first -k.
func (in *inner) shift(k int) {
	if k > 0 {
		copy(in.keys[k:], in.keys[:in.n])
		copy(in.players[k:], in.players[:in.n])
		copy(in.counts[k:], in.counts[:in.n])
		copy(in.leaves[k:], in.leaves[:in.n])
		copy(in.inners[k:], in.inners[:in.n])
		in.n += k
		return
	}
	k = -k
	copy(in.keys[:], in.keys[k:in.n])
	copy(in.players[:], in.players[k:in.n])
	copy(in.counts[:], in.counts[k:in.n])
	copy(in.leaves[:], in.leaves[k:in.n])
	copy(in.inners[:], in.inners[k:in.n])
	clear(in.players[in.n-k : in.n])
	clear(in.leaves[in.n-k : in.n])
	clear(in.inners[in.n-k : in.n])
	in.n -= k
}

// removeKid closes slot at.
func (in *inner) removeKid(at int) {
	copy(in.keys[at:], in.keys[at+1:in.n])
	copy(in.players[at:], in.players[at+1:in.n])
	copy(in.counts[at:], in.counts[at+1:in.n])
	copy(in.leaves[at:], in.leaves[at+1:in.n])
	copy(in.inners[at:], in.inners[at+1:in.n])
	in.n--
	in.players[in.n], in.leaves[in.n], in.inners[in.n] = "", nil, nil
}

// before counts the entries ordered before (key, player): a 0-based rank.
// The caller holds ix.mu.
func (ix *index) before(key int64, player string) int64 {
	var r int64
	for in := ix.root; ; {
		i := in.child(key, player)
		for _, c := range in.counts[:i] {
			r += c
		}
		if in.leafKids {
			return r + int64(in.leaves[i].search(key, player))
		}
		in = in.inners[i]
	}
}

// rankOf returns the 1-based rank of a record that node n holds or held:
// if n has moved on to a newer record, that one is not counted.
func (ix *index) rankOf(n *node, r record) int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	rank := ix.before(r.key, r.player) + 1
	if n.version != r.version && cmpKey(n.key, n.player, r.key, r.player) < 0 {
		rank--
	}
	return rank
}

// count returns the number of entries. The caller holds ix.mu.
func (ix *index) count() int64 { return ix.size }

// walk calls fn on entries in order from 0-based rank from until fn returns
// false or the entries run out. The caller holds ix.mu.
func (ix *index) walk(from int64, fn func(*node) bool) {
	if from < 0 || from >= ix.size {
		return
	}
	in := ix.root
	for {
		i := 0
		for ; i < in.n-1 && from >= in.counts[i]; i++ {
			from -= in.counts[i]
		}
		if in.leafKids {
			for l, at := in.leaves[i], int(from); l != nil; l, at = l.next, 0 {
				for ; at < l.n; at++ {
					if !fn(l.ents[at]) {
						return
					}
				}
			}
			return
		}
		in = in.inners[i]
	}
}

// entry returns the node as an Entry of board bi.
func (n *node) entry(bi *boardInfo, rank int64) Entry {
	return bi.entry(n.player, n.name, n.key, n.updated, rank)
}
