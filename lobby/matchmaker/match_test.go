package matchmaker

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// tk is a ticket of mode "duel" (or whatever Match is asked for) created
// waited seconds before t0, with members named after the ticket unless given.
func tk(id string, rating, waited float64, members ...string) Ticket {
	if len(members) == 0 {
		members = []string{id}
	}
	t := Ticket{ID: id, Mode: "m", Rating: rating, CreatedAt: t0.Add(-time.Duration(waited * float64(time.Second)))}
	for _, m := range members {
		t.Members = append(t.Members, Member{ID: m})
	}
	return t
}

// party is a ticket with n members.
func party(id string, n int, rating, waited float64) Ticket {
	ms := make([]string, n)
	for i := range ms {
		ms[i] = fmt.Sprintf("%s.%d", id, i)
	}
	return tk(id, rating, waited, ms...)
}

// describe renders groups as "room=id,id" ("=id,id" for a new room).
func describe(gs []Group) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		ids := make([]string, len(g.Tickets))
		for j, t := range g.Tickets {
			ids[j] = t.ID
		}
		out[i] = g.RoomID + "=" + strings.Join(ids, ",")
	}
	return out
}

func TestMatch(t *testing.T) {
	mode := Mode{Name: "m", Size: 4}
	duel := Mode{Name: "m", Size: 2}
	tests := []struct {
		name   string
		mode   Mode
		queued []Ticket
		open   []OpenRoom
		want   []string
	}{
		{
			name:   "exact fill",
			mode:   mode,
			queued: []Ticket{tk("a", 1500, 3), tk("b", 1510, 2), tk("c", 1490, 1), tk("d", 1500, 0)},
			want:   []string{"=a,b,c,d"},
		},
		{
			name:   "too few players stay queued",
			mode:   mode,
			queued: []Ticket{tk("a", 1500, 3), tk("b", 1500, 2), tk("c", 1500, 1)},
		},
		{
			name:   "parties stay together and fill exactly",
			mode:   mode,
			queued: []Ticket{party("p3", 3, 1500, 3), party("p2", 2, 1500, 2), tk("s", 1500, 1)},
			want:   []string{"=p3,s"},
		},
		{
			name:   "parties never overflow a room",
			mode:   mode,
			queued: []Ticket{party("x", 3, 1500, 2), party("y", 3, 1500, 1)},
		},
		{
			name:   "a party larger than the room is never matched",
			mode:   duel,
			queued: []Ticket{party("big", 3, 1500, 100), tk("a", 1500, 1), tk("b", 1500, 0)},
			want:   []string{"=a,b"},
		},
		{
			name:   "a party of the room's size fills it alone",
			mode:   mode,
			queued: []Ticket{tk("s", 1500, 9), party("p4", 4, 1500, 1)},
			want:   []string{"=p4"},
		},
		{
			name:   "far apart at first",
			mode:   duel,
			queued: []Ticket{tk("a", 1000, 0), tk("b", 1400, 0)},
		},
		{
			name:   "windows widen while waiting: 100 + 50/s × 6 s = 400",
			mode:   duel,
			queued: []Ticket{tk("a", 1000, 6), tk("b", 1400, 6)},
			want:   []string{"=a,b"},
		},
		{
			name:   "one wide window is not enough: the new ticket's window must reach too",
			mode:   duel,
			queued: []Ticket{tk("old", 1000, 60), tk("new", 1400, 0)},
		},
		{
			name:   "windows stop at MaxWindow",
			mode:   duel,
			queued: []Ticket{tk("a", 0, 3600), tk("b", 1001, 3600)},
		},
		{
			name:   "every pair must be compatible, not only with the anchor",
			mode:   Mode{Name: "m", Size: 3},
			queued: []Ticket{tk("anchor", 1500, 4), tk("low", 1200, 4), tk("high", 1800, 4)},
		},
		{
			name:   "oldest tickets first",
			mode:   duel,
			queued: []Ticket{tk("e", 1500, 0), tk("c", 1500, 2), tk("a", 1500, 4), tk("d", 1500, 1), tk("b", 1500, 3)},
			want:   []string{"=a,b", "=c,d"},
		},
		{
			name:   "the anchor takes the nearest ratings",
			mode:   Mode{Name: "m", Size: 3},
			queued: []Ticket{tk("a", 1500, 10), tk("far", 1580, 9), tk("near", 1510, 0), tk("below", 1470, 0)},
			want:   []string{"=a,below,near"},
		},
		{
			name:   "an anchor that cannot fill leaves the next oldest to try",
			mode:   duel,
			queued: []Ticket{tk("lonely", 3000, 5), tk("a", 1500, 1), tk("b", 1500, 0)},
			want:   []string{"=a,b"},
		},
		{
			name:   "backfill takes the oldest compatible tickets that fit",
			mode:   mode,
			queued: []Ticket{party("pair", 2, 1500, 9), tk("far", 2500, 8), tk("s1", 1520, 2), tk("s2", 1500, 1)},
			open:   []OpenRoom{{RoomID: "r1", Mode: "m", Free: 3, Rating: 1500}},
			want:   []string{"r1=pair,s1"},
		},
		{
			name:   "backfill first, then new rooms",
			mode:   duel,
			queued: []Ticket{tk("a", 1500, 5), tk("b", 1500, 4), tk("c", 1500, 3)},
			open:   []OpenRoom{{RoomID: "r1", Free: 1, Rating: 1500}},
			want:   []string{"r1=a", "=b,c"},
		},
		{
			name:   "rooms of another mode and full rooms take no backfill",
			mode:   duel,
			queued: []Ticket{tk("a", 1500, 5)},
			open:   []OpenRoom{{RoomID: "other", Mode: "x", Free: 1, Rating: 1500}, {RoomID: "full", Free: 0, Rating: 1500}},
		},
		{
			name:   "a room outside every window takes no backfill",
			mode:   duel,
			queued: []Ticket{tk("a", 1500, 0)},
			open:   []OpenRoom{{RoomID: "r1", Free: 1, Rating: 1700}},
		},
		{
			name: "invalid tickets and other modes are ignored",
			mode: duel,
			queued: []Ticket{
				{ID: "empty", Mode: "m", Rating: 1500, CreatedAt: t0},
				tk("nan", math.NaN(), 5),
				{ID: "other", Mode: "x", Rating: 1500, CreatedAt: t0, Members: []Member{{ID: "o"}}},
				tk("a", 1500, 1),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := describe(Match(tt.mode, tt.queued, tt.open, t0))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Match = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMatchWidensOverTime(t *testing.T) {
	mode := Mode{Name: "m", Size: 2}
	queued := []Ticket{tk("a", 1000, 0), tk("b", 1500, 0)}
	// The windows reach 500 after 8 s.
	for _, c := range []struct {
		after time.Duration
		want  int
	}{{0, 0}, {4 * time.Second, 0}, {7900 * time.Millisecond, 0}, {8 * time.Second, 1}, {time.Minute, 1}} {
		if got := len(Match(mode, queued, nil, t0.Add(c.after))); got != c.want {
			t.Errorf("after %v: %d groups, want %d", c.after, got, c.want)
		}
	}
}

func TestModeWindowAfter(t *testing.T) {
	tests := []struct {
		mode   Mode
		waited time.Duration
		want   float64
	}{
		{Mode{}, 0, 100},
		{Mode{}, 2 * time.Second, 200},
		{Mode{}, time.Hour, 1000},
		{Mode{}, -time.Second, 100}, // a clock behind the ticket's
		{Mode{Window: 10, Widen: -1}, time.Hour, 10},
		{Mode{Window: 10, Widen: 1, MaxWindow: math.Inf(1)}, time.Hour, 3610},
	}
	for _, tt := range tests {
		if got := tt.mode.WindowAfter(tt.waited); got != tt.want {
			t.Errorf("%+v.WindowAfter(%v) = %v, want %v", tt.mode, tt.waited, got, tt.want)
		}
	}
}

func TestMatchDoesNotDependOnInputOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	mode := Mode{Name: "m", Size: 8}
	queued := pool(rng, 2000, mode.Name)
	want := describe(Match(mode, queued, nil, t0))
	rng.Shuffle(len(queued), func(i, j int) { queued[i], queued[j] = queued[j], queued[i] })
	if got := describe(Match(mode, queued, nil, t0)); !slices.Equal(got, want) {
		t.Errorf("shuffled input gave %d different groups", len(got))
	}
}

// TestMatchInvariants checks on random pools what must hold for any input.
func TestMatchInvariants(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		mode := Mode{Name: "m", Size: 1 + rng.IntN(10), Window: 50 + rng.Float64()*100}
		queued := pool(rng, 500, mode.Name)
		var open []OpenRoom
		for i := range rng.IntN(5) {
			open = append(open, OpenRoom{RoomID: fmt.Sprint("r", i), Free: rng.IntN(mode.Size + 1), Rating: 1500 + rng.NormFloat64()*300})
		}
		checkGroups(t, mode, queued, open, Match(mode, queued, open, t0), t0)
	}
}

// checkGroups fails t if groups break a rule of Match.
func checkGroups(t testing.TB, mode Mode, queued []Ticket, open []OpenRoom, groups []Group, now time.Time) {
	t.Helper()
	rooms := make(map[string]OpenRoom)
	for _, r := range open {
		rooms[r.RoomID] = r
	}
	seen := make(map[string]bool)
	for _, g := range groups {
		for _, tt := range g.Tickets {
			if seen[tt.ID] {
				t.Fatalf("ticket %s in two groups", tt.ID)
			}
			seen[tt.ID] = true
		}
		if g.RoomID == "" {
			if n := g.Players(); n != mode.Size {
				t.Fatalf("new room with %d players, want %d: %q", n, mode.Size, describe([]Group{g}))
			}
			for _, a := range g.Tickets {
				for _, b := range g.Tickets {
					if w := mode.WindowAfter(now.Sub(a.CreatedAt)); math.Abs(a.Rating-b.Rating) > w {
						t.Fatalf("%s (%.0f) outside the window %.0f of %s (%.0f)", b.ID, b.Rating, w, a.ID, a.Rating)
					}
				}
			}
			continue
		}
		r, ok := rooms[g.RoomID]
		if !ok {
			t.Fatalf("backfill into unknown room %s", g.RoomID)
		}
		if n := g.Players(); n > r.Free {
			t.Fatalf("room %s backfilled with %d players, has %d free", r.RoomID, n, r.Free)
		}
		delete(rooms, g.RoomID) // one group per room
		for _, a := range g.Tickets {
			if w := mode.WindowAfter(now.Sub(a.CreatedAt)); math.Abs(a.Rating-r.Rating) > w {
				t.Fatalf("room %s (%.0f) outside the window %.0f of %s (%.0f)", r.RoomID, r.Rating, w, a.ID, a.Rating)
			}
		}
	}
}

// pool makes n tickets as a busy server sees them: ratings normal around 1500
// (sd 300), 60% solo, 25% pairs and 15% trios, waits spread over 30 s.
func pool(rng *rand.Rand, n int, mode string) []Ticket {
	out := make([]Ticket, n)
	for i := range out {
		size := 1
		switch p := rng.Float64(); {
		case p > 0.85:
			size = 3
		case p > 0.6:
			size = 2
		}
		members := make([]Member, size)
		for j := range members {
			members[j] = Member{ID: fmt.Sprintf("p%d.%d", i, j)}
		}
		out[i] = Ticket{
			ID:        fmt.Sprintf("t%05d", i),
			Mode:      mode,
			Members:   members,
			Rating:    1500 + rng.NormFloat64()*300,
			CreatedAt: t0.Add(-time.Duration(rng.Float64() * float64(30*time.Second))),
		}
	}
	return out
}

// BenchmarkMatch10000 is one pass of the matcher over a busy mode: 10,000
// tickets, rooms of 16, a few open rooms to backfill.
func BenchmarkMatch10000(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	mode := Mode{Name: "m", Size: 16}
	queued := pool(rng, 10000, mode.Name)
	open := make([]OpenRoom, 20)
	for i := range open {
		open[i] = OpenRoom{RoomID: fmt.Sprint("r", i), Free: 1 + rng.IntN(4), Rating: 1500 + rng.NormFloat64()*300}
	}
	b.ReportAllocs()
	var groups []Group
	for b.Loop() {
		groups = Match(mode, queued, open, t0)
	}
	matched := 0
	for _, g := range groups {
		matched += len(g.Tickets)
	}
	b.ReportMetric(float64(len(groups)), "groups")
	b.ReportMetric(float64(matched)/float64(len(queued))*100, "%matched")
}

// BenchmarkMatch10000Unfillable is the worst case of a scan that widens
// around each anchor: every ticket is a trio that has waited long enough to
// match anyone, and no mix of trios makes 16, so all 10,000 anchors fail.
func BenchmarkMatch10000Unfillable(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	mode := Mode{Name: "m", Size: 16}
	queued := pool(rng, 10000, mode.Name)
	for i := range queued {
		queued[i].CreatedAt = t0.Add(-time.Minute)
		queued[i].Members = []Member{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	}
	b.ReportAllocs()
	for b.Loop() {
		if g := Match(mode, queued, nil, t0); len(g) > 0 {
			b.Fatalf("%d groups of trios for rooms of 16", len(g))
		}
	}
}

func ExampleMatch() {
	now := time.Now()
	mode := Mode{Name: "duel", Size: 2}
	queued := []Ticket{
		{ID: "ann", Mode: "duel", Members: []Member{{ID: "ann"}}, Rating: 1500, CreatedAt: now.Add(-3 * time.Second)},
		{ID: "bob", Mode: "duel", Members: []Member{{ID: "bob"}}, Rating: 1550, CreatedAt: now.Add(-time.Second)},
		{ID: "cyd", Mode: "duel", Members: []Member{{ID: "cyd"}}, Rating: 2400, CreatedAt: now},
	}
	for _, g := range Match(mode, queued, nil, now) {
		fmt.Println(g.Tickets[0].ID, "vs", g.Tickets[1].ID)
	}
	// Output: ann vs bob
}

// TestMatchAgreesWithNaive checks the reach trees against a plain reading of
// Match's rules: every candidate tried nearest first, each pair checked.
func TestMatchAgreesWithNaive(t *testing.T) {
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 7))
		mode := Mode{Name: "m", Size: 2 + rng.IntN(15), Widen: 1 + rng.Float64()*60}
		queued := pool(rng, 100+rng.IntN(300), mode.Name)
		if seed%2 == 1 { // ties in rating and age, windows ending exactly on ratings
			mode.Widen = 10
			for i := range queued {
				queued[i].Rating = math.Round(queued[i].Rating/20) * 20
				queued[i].CreatedAt = queued[i].CreatedAt.Truncate(5 * time.Second)
			}
		}
		if seed%3 == 0 { // parties that cannot fill a room exactly
			for i := range queued {
				queued[i].Members = append(queued[i].Members[:1], Member{ID: "x"}, Member{ID: "y"})
			}
		}
		var open []OpenRoom
		for i := range rng.IntN(4) {
			open = append(open, OpenRoom{RoomID: fmt.Sprint("r", i), Free: rng.IntN(mode.Size), Rating: 1500 + rng.NormFloat64()*300})
		}
		got := describe(Match(mode, queued, open, t0))
		want := describe(naiveMatch(mode, queued, open, t0))
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d, size %d: Match gave %d groups, the naive reading %d\n got %q\nwant %q", seed, mode.Size, len(got), len(want), got, want)
		}
	}
}

func naiveMatch(mode Mode, queued []Ticket, open []OpenRoom, now time.Time) []Group {
	mode = mode.withDefaults()
	window := func(t Ticket) float64 { return mode.window(now.Sub(t.CreatedAt)) }
	olderFirst := func(a, b Ticket) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	}
	var byAge []Ticket
	for _, t := range queued {
		if len(t.Members) > 0 && len(t.Members) <= mode.Size && t.Mode == mode.Name && !math.IsNaN(t.Rating) {
			byAge = append(byAge, t)
		}
	}
	slices.SortFunc(byAge, olderFirst)
	taken := make(map[string]bool)
	var groups []Group
	for _, room := range open {
		var g Group
		free := room.Free
		for _, t := range byAge {
			if !taken[t.ID] && len(t.Members) <= free && math.Abs(t.Rating-room.Rating) <= window(t) {
				g.Tickets = append(g.Tickets, t)
				free -= len(t.Members)
			}
		}
		if len(g.Tickets) > 0 {
			for _, t := range g.Tickets {
				taken[t.ID] = true
			}
			g.RoomID = room.RoomID
			groups = append(groups, g)
		}
	}
	for _, anchor := range byAge {
		if taken[anchor.ID] {
			continue
		}
		var cands []Ticket
		for _, t := range byAge {
			if !taken[t.ID] && t.ID != anchor.ID {
				cands = append(cands, t)
			}
		}
		slices.SortStableFunc(cands, func(a, b Ticket) int {
			return cmp.Compare(math.Abs(a.Rating-anchor.Rating), math.Abs(b.Rating-anchor.Rating))
		})
		g := Group{Tickets: []Ticket{anchor}}
		n := len(anchor.Members)
	next:
		for _, c := range cands {
			if n == mode.Size {
				break
			}
			if n+len(c.Members) > mode.Size {
				continue
			}
			for _, m := range g.Tickets {
				if d := math.Abs(c.Rating - m.Rating); d > window(c) || d > window(m) {
					continue next
				}
			}
			g.Tickets = append(g.Tickets, c)
			n += len(c.Members)
		}
		if n == mode.Size {
			slices.SortFunc(g.Tickets, olderFirst)
			for _, t := range g.Tickets {
				taken[t.ID] = true
			}
			groups = append(groups, g)
		}
	}
	return groups
}

// TestReach checks the tree searches against linear ones, with thresholds
// taken from the values stored so that equality is exercised.
func TestReach(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 3, 7, 8, 100} {
		es := make([]entry, n)
		for i := range es {
			es[i] = entry{r: float64(rng.IntN(20)), w: float64(rng.IntN(5)), size: 1 + int32(rng.IntN(3))}
		}
		var tr reach
		tr.build(es, 2)
		in := make([]bool, n) // what the tree should hold
		for i := range in {
			in[i] = es[i].size <= 2
		}
		for step := range 200 {
			i := int32(rng.IntN(n))
			if step%3 == 0 { // take an entry out or put it back
				if in[i] = !in[i] && es[i].size <= 2; in[i] {
					tr.set(i, es[i].r+es[i].w, es[i].r-es[i].w)
				} else {
					tr.set(i, math.Inf(-1), math.Inf(1))
				}
			}
			x := es[rng.IntN(n)].r + float64(rng.IntN(5)-2)
			wantLast, wantFirstUp, wantFirstDown := int32(-1), int32(-1), int32(-1)
			for j := range int32(n) {
				if !in[j] {
					continue
				}
				if j < i && es[j].r+es[j].w >= x {
					wantLast = j
				}
				if j >= i && wantFirstUp < 0 && es[j].r+es[j].w >= x {
					wantFirstUp = j
				}
				if j > i && wantFirstDown < 0 && es[j].r-es[j].w <= x {
					wantFirstDown = j
				}
			}
			if got := tr.lastUp(i, x); got != wantLast {
				t.Fatalf("n=%d lastUp(%d, %v) = %d, want %d", n, i, x, got, wantLast)
			}
			if got := tr.firstUp(i, x); got != wantFirstUp {
				t.Fatalf("n=%d firstUp(%d, %v) = %d, want %d", n, i, x, got, wantFirstUp)
			}
			if got := tr.firstDown(i, x); got != wantFirstDown {
				t.Fatalf("n=%d firstDown(%d, %v) = %d, want %d", n, i, x, got, wantFirstDown)
			}
		}
	}
}
