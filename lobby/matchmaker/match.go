package matchmaker

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"time"
)

// Member is a player on a ticket.
type Member struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Team and Attributes are what the request said of the member, for
	// the game (through the join ticket); the queue keeps them and does
	// not read them. Queues copy Attributes in and out: a caller's map is
	// never shared.
	Team       string            `json:"team,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// cloneMembers copies ms and each member's Attributes.
func cloneMembers(ms []Member) []Member {
	out := slices.Clone(ms)
	for i := range out {
		out[i].Attributes = maps.Clone(out[i].Attributes)
	}
	return out
}

// Ticket is a request to be matched: one player, or a party that must play in
// the same room.
type Ticket struct {
	ID   string `json:"id"`
	Mode string `json:"mode"`
	// Members holds the owner first, then the party members; it is never empty
	// once the ticket is queued.
	Members []Member `json:"members"`
	Rating  float64  `json:"rating"`
	// CreatedAt is when the ticket joined the queue; its window widens from
	// then. A Queue sets it to the current time if it is zero.
	CreatedAt time.Time `json:"created_at"`
}

// Defaults for the zero fields of a [Mode].
const (
	DefaultWindow    = 100
	DefaultWiden     = 50
	DefaultMaxWindow = 1000
)

// Mode says how rooms of one game mode are filled.
type Mode struct {
	Name string
	// Size is the number of players per room.
	Size int
	// Window is the rating window (± around a ticket's rating) of a ticket that
	// has just joined. Zero means DefaultWindow.
	Window float64
	// Widen is how much the window grows per second of waiting. Zero means
	// DefaultWiden; a negative value keeps the window fixed.
	Widen float64
	// MaxWindow caps the window. Zero means DefaultMaxWindow; math.Inf(1)
	// lets a ticket that waits long enough match anyone.
	MaxWindow float64
}

func (m Mode) withDefaults() Mode {
	if m.Window == 0 {
		m.Window = DefaultWindow
	}
	switch {
	case m.Widen == 0:
		m.Widen = DefaultWiden
	case m.Widen < 0:
		m.Widen = 0
	}
	if m.MaxWindow == 0 {
		m.MaxWindow = DefaultMaxWindow
	}
	return m
}

// WindowAfter is the rating window of a ticket of this mode that has waited
// for d: min(MaxWindow, Window + Widen × seconds waited), with the defaults
// applied.
func (m Mode) WindowAfter(d time.Duration) float64 {
	m = m.withDefaults()
	return m.window(d)
}

func (m Mode) window(d time.Duration) float64 {
	w := m.Window + m.Widen*max(d, 0).Seconds()
	return max(min(w, m.MaxWindow), 0)
}

// OpenRoom is a running room with free seats that may take backfill.
type OpenRoom struct {
	RoomID string
	Mode   string
	Free   int
	// Rating is the room's rating, usually the mean of its players'.
	Rating float64
}

// Group is a set of tickets that goes to one room.
type Group struct {
	// Tickets are ordered oldest first.
	Tickets []Ticket
	// RoomID is "" when the group fills a new room exactly, else the id of the
	// open room it backfills.
	RoomID string
}

// Players is the number of members over all tickets of the group.
func (g Group) Players() int {
	n := 0
	for _, t := range g.Tickets {
		n += len(t.Members)
	}
	return n
}

// entry is Match's working copy of a ticket.
type entry struct {
	r, w    float64       // rating and current window
	waited  time.Duration // larger is older
	size    int32         // members
	ticket  int32         // index into the queued slice
	matched bool
}

// matching holds the state of one call to Match. Entries are sorted by rating,
// and reach trees find the nearest candidates of an anchor in that order.
type matching struct {
	mode    Mode
	queued  []Ticket
	es      []entry
	byAge   []int32 // entry indices, oldest first
	run     []int32 // entry index -> first index of the entries of equal rating
	sizes   []int32 // the party sizes present, ascending
	trees   []reach // trees[k] holds the entries of sizes <= sizes[k]
	members []int32 // scratch: entries of the group being filled
	out     []Ticket
	groups  []Group
}

// Match groups the queued tickets of one mode. Each group either fills a new
// room exactly (its members add up to mode.Size) or backfills an open room
// (they add up to at most its Free seats). Tickets in no group stay queued.
//
// The rules:
//   - A ticket's window is mode.WindowAfter(now - CreatedAt).
//   - Tickets share a room only if every pair is compatible: each one's rating
//     lies within the other's window. A group is therefore valid when the
//     intersection of its members' windows contains all of their ratings.
//   - Parties never split; a ticket with no members or more than mode.Size
//     members, a non-finite rating, or another mode is never matched.
//   - Backfill first: open rooms are served in the order given, and each
//     takes the oldest tickets whose window contains the room's Rating and
//     that fit its free seats.
//   - Then the oldest unmatched ticket anchors a new room, filled with the
//     compatible tickets nearest to it in rating (the older on a tie), parties
//     that would overflow the room skipped. If the room cannot be filled
//     exactly, the anchor stays queued and the next oldest ticket anchors.
//
// Match is the hot path of the matcher. It sorts once by rating; each step of
// filling a room then finds the nearest compatible candidate that fits on
// either side of the anchor in O(log n) (see reach), so a pass is
// O(n log n), even when most anchors fail. It keeps one tree per party size
// present, so memory is O(n × distinct party sizes). Backfill costs O(n) per
// open room. Match does not modify queued.
func Match(mode Mode, queued []Ticket, open []OpenRoom, now time.Time) []Group {
	mode = mode.withDefaults()
	if mode.Size <= 0 || len(queued) == 0 {
		return nil
	}
	m := &matching{mode: mode, queued: queued}
	m.index(now)
	if len(m.es) == 0 {
		return nil
	}
	for _, room := range open {
		m.backfill(room)
	}
	for _, a := range m.byAge {
		if !m.es[a].matched {
			m.fill(a)
		}
	}
	return m.groups
}

// index builds the entries, the orders and the reach trees.
func (m *matching) index(now time.Time) {
	m.es = make([]entry, 0, len(m.queued))
	for i := range m.queued {
		t := &m.queued[i]
		n := len(t.Members)
		if n == 0 || n > m.mode.Size || t.Mode != m.mode.Name || math.IsNaN(t.Rating) || math.IsInf(t.Rating, 0) {
			continue
		}
		waited := now.Sub(t.CreatedAt)
		m.es = append(m.es, entry{r: t.Rating, w: m.mode.window(waited), waited: waited, size: int32(n), ticket: int32(i)})
		if !slices.Contains(m.sizes, int32(n)) {
			m.sizes = append(m.sizes, int32(n))
		}
	}
	m.sort()
	slices.Sort(m.sizes)
	m.trees = make([]reach, len(m.sizes))
	for k, s := range m.sizes {
		m.trees[k].build(m.es, s)
	}
	m.out = make([]Ticket, 0, len(m.es))
}

// sort orders the entries by rating and fills in run and byAge.
func (m *matching) sort() {
	slices.SortFunc(m.es, func(a, b entry) int {
		switch { // no NaN here, so no cmp.Compare
		case a.r < b.r:
			return -1
		case a.r > b.r:
			return 1
		}
		return m.older(a, b)
	})
	m.run = make([]int32, len(m.es))
	for i := range m.run {
		if i > 0 && m.es[i].r == m.es[i-1].r {
			m.run[i] = m.run[i-1]
		} else {
			m.run[i] = int32(i)
		}
	}
	m.byAge = make([]int32, len(m.es))
	for i := range m.byAge {
		m.byAge[i] = int32(i)
	}
	slices.SortFunc(m.byAge, func(a, b int32) int { return m.older(m.es[a], m.es[b]) })
}

// tree returns the index of the reach tree that holds exactly the parties of
// at most seats members, or -1 if no party is that small.
func (m *matching) tree(seats int32) int {
	k, found := slices.BinarySearch(m.sizes, seats)
	if !found {
		k--
	}
	return k
}

// older orders a before b if a has waited longer; ties fall back to the
// ticket id so the result does not depend on the order of the input.
func (m *matching) older(a, b entry) int {
	switch {
	case a.waited > b.waited:
		return -1
	case a.waited < b.waited:
		return 1
	}
	return cmp.Compare(m.queued[a.ticket].ID, m.queued[b.ticket].ID)
}

// backfill gives room the oldest tickets that accept its rating and fit.
func (m *matching) backfill(room OpenRoom) {
	if room.Free <= 0 || (room.Mode != "" && room.Mode != m.mode.Name) {
		return
	}
	free := int32(min(room.Free, m.mode.Size))
	m.members = m.members[:0]
	for _, i := range m.byAge {
		e := &m.es[i]
		if e.matched || e.size > free || math.Abs(e.r-room.Rating) > e.w {
			continue
		}
		m.members = append(m.members, i)
		m.remove(i)
		if free -= e.size; free == 0 {
			break
		}
	}
	if len(m.members) > 0 {
		m.take(room.RoomID)
	}
}

// fill tries to build a new room around anchor a; see Match for the rules.
//
// The group stays valid while lo <= minR and maxR <= hi, where lo..hi is the
// intersection of the members' windows and minR..maxR the span of their
// ratings. For a candidate c below every member that reduces to
// c.r >= lo && c.r+c.w >= maxR, and above every member to
// c.r <= hi && c.r-c.w <= minR: the reach trees find the nearest such
// candidate on each side in O(log n). Both conditions only get harder as the
// group grows, so a candidate rejected once stays rejected. Members leave the
// trees as they join, and return to them if the room cannot be filled.
func (m *matching) fill(a int32) {
	anchor := m.es[a]
	need := int32(m.mode.Size) - anchor.size
	m.members = append(m.members[:0], a)
	g := span{lo: anchor.r - anchor.w, hi: anchor.r + anchor.w, minR: anchor.r, maxR: anchor.r}
	below, above := true, true // whether a side may still have candidates
	for need > 0 {
		c := m.candidate(a, need, g, &below, &above)
		if c < 0 {
			for _, c := range m.members[1:] {
				m.restore(c)
			}
			return
		}
		e := &m.es[c]
		g = span{lo: max(g.lo, e.r-e.w), hi: min(g.hi, e.r+e.w), minR: min(g.minR, e.r), maxR: max(g.maxR, e.r)}
		need -= e.size
		m.members = append(m.members, c)
		m.remove(c)
	}
	m.remove(a)
	m.take("")
}

// span is what fill knows of a group: lo..hi is the intersection of the
// members' windows, minR..maxR the range of their ratings.
type span struct{ lo, hi, minR, maxR float64 }

// candidate returns the next ticket for the group g around anchor a that has
// need seats left, or -1. It clears below or above when that side has no
// candidates left.
func (m *matching) candidate(a, need int32, g span, below, above *bool) int32 {
	k := m.tree(need)
	if k < 0 {
		return -1
	}
	t, es := &m.trees[k], m.es
	cl, cr := int32(-1), int32(-1)
	if *below {
		if cl = t.lastUp(a, g.maxR); cl >= 0 && es[cl].r >= g.lo {
			// The search found the youngest of the tickets of that rating;
			// take the oldest of them that qualifies instead.
			cl = t.firstUp(m.run[cl], g.maxR)
		} else {
			cl, *below = -1, false // everything further down is below lo too
		}
	}
	if *above {
		if cr = t.firstDown(a, g.minR); cr < 0 || es[cr].r > g.hi {
			cr, *above = -1, false
		}
	}
	if cr < 0 || (cl >= 0 && m.nearerBelow(es[a].r, es[cl], es[cr])) {
		return cl
	}
	return cr
}

// nearerBelow reports whether the candidate below the anchor's rating r comes
// before the one above: the nearer, or the older at equal distance.
func (m *matching) nearerBelow(r float64, below, above entry) bool {
	db, da := r-below.r, above.r-r
	if db != da {
		return db < da
	}
	return m.older(below, above) <= 0
}

// remove takes entry i out of every reach tree that holds it.
func (m *matching) remove(i int32) {
	for k := m.tree(m.es[i].size); k < len(m.trees); k++ {
		m.trees[k].set(i, math.Inf(-1), math.Inf(1))
	}
}

// restore puts entry i back into the reach trees.
func (m *matching) restore(i int32) {
	e := &m.es[i]
	for k := m.tree(e.size); k < len(m.trees); k++ {
		m.trees[k].set(i, e.r+e.w, e.r-e.w)
	}
}

// take turns m.members, already out of the reach trees, into a group, oldest
// first.
func (m *matching) take(roomID string) {
	slices.SortFunc(m.members, func(a, b int32) int { return m.older(m.es[a], m.es[b]) })
	start := len(m.out)
	for _, i := range m.members {
		m.es[i].matched = true
		m.out = append(m.out, m.queued[m.es[i].ticket])
	}
	// The full slice expression keeps a caller's append to one group from
	// overwriting the next.
	end := len(m.out)
	m.groups = append(m.groups, Group{Tickets: m.out[start:end:end], RoomID: roomID})
}

// reach is a segment tree over the entries in rating order that finds the
// nearest entry, below or above a position, whose window reaches a given
// rating. A leaf holds r+w (up) and r-w (down) of an entry still to match, or
// -Inf and +Inf if the entry is taken or not in the tree; an inner node holds
// the max of up and the min of down below it.
type reach struct {
	leaves   int32 // a power of two
	up, down []float64
}

// build makes the tree of the entries with at most maxSize members.
func (t *reach) build(es []entry, maxSize int32) {
	t.leaves = 1
	for int(t.leaves) < len(es) {
		t.leaves *= 2
	}
	t.up = make([]float64, 2*t.leaves)
	t.down = make([]float64, 2*t.leaves)
	for i := range t.leaves {
		n := t.leaves + i
		t.up[n], t.down[n] = math.Inf(-1), math.Inf(1)
		if int(i) < len(es) && es[i].size <= maxSize {
			t.up[n], t.down[n] = es[i].r+es[i].w, es[i].r-es[i].w
		}
	}
	for n := t.leaves - 1; n > 0; n-- {
		t.up[n] = max(t.up[2*n], t.up[2*n+1])
		t.down[n] = min(t.down[2*n], t.down[2*n+1])
	}
}

// set changes leaf i and the nodes above it that change.
func (t *reach) set(i int32, up, down float64) {
	n := t.leaves + i
	t.up[n], t.down[n] = up, down
	for n >>= 1; n > 0; n >>= 1 {
		up, down := max(t.up[2*n], t.up[2*n+1]), min(t.down[2*n], t.down[2*n+1])
		if up == t.up[n] && down == t.down[n] {
			return
		}
		t.up[n], t.down[n] = up, down
	}
}

// lastUp returns the largest j < i with up >= x, or -1. Climbing from leaf
// i, the left siblings met cover the positions below i nearest first.
func (t *reach) lastUp(i int32, x float64) int32 {
	for n := t.leaves + i; n > 1; n >>= 1 {
		if n&1 == 1 && t.up[n-1] >= x {
			n--
			for n < t.leaves {
				if n = 2*n + 1; t.up[n] < x {
					n--
				}
			}
			return n - t.leaves
		}
	}
	return -1
}

// firstUp returns the smallest j >= i with up >= x, or -1.
func (t *reach) firstUp(i int32, x float64) int32 {
	n := t.leaves + i
	if t.up[n] >= x {
		return i
	}
	for ; n > 1; n >>= 1 {
		if n&1 == 0 && t.up[n+1] >= x {
			n++
			for n < t.leaves {
				if n = 2 * n; t.up[n] < x {
					n++
				}
			}
			return n - t.leaves
		}
	}
	return -1
}

// firstDown returns the smallest j > i with down <= x, or -1.
func (t *reach) firstDown(i int32, x float64) int32 {
	for n := t.leaves + i; n > 1; n >>= 1 {
		if n&1 == 0 && t.down[n+1] <= x {
			n++
			for n < t.leaves {
				if n = 2 * n; t.down[n] > x {
					n++
				}
			}
			return n - t.leaves
		}
	}
	return -1
}
