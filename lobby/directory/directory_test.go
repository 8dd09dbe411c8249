package directory

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// env is one directory under test with the means to move its time.
type env struct {
	dir   Directory
	clock *clock // the directory's Now
	// pass lets d of time to live go by: the memory directory's clock moves;
	// for Redis the clock moves and d of real time passes.
	pass func(d time.Duration)
}

// clock is a settable time source, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Times to live of the suite: long never runs out during a test, short is
// waited out by tests of expiry.
const (
	long  = time.Hour
	short = 200 * time.Millisecond
	grace = 30 * time.Second // every env's directory has this grace
)

var ctx = context.Background()

// testDirectory is the conformance suite every Directory passes. newEnv
// returns an empty directory with the grace above.
func testDirectory(t *testing.T, newEnv func(t *testing.T) *env) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"CreateAndGet", testCreateAndGet},
		{"Invalid", testInvalid},
		{"DuplicateID", testDuplicateID},
		{"PrivateCode", testPrivateCode},
		{"ListFilters", testListFilters},
		{"ListPagingConcurrentInserts", testListPaging},
		{"BadCursor", testBadCursor},
		{"Assign", testAssign},
		{"AssignConcurrent", testAssignConcurrent},
		{"OneSeatPerPlayer", testOneSeatPerPlayer},
		{"PendingGrace", testPendingGrace},
		{"ReportRooms", testReportRooms},
		{"Delete", testDelete},
		{"Expiry", testExpiry},
		{"Nodes", testNodes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newEnv(t)) })
	}
}

// room returns a valid public room of mode on node n1.
func room(id, mode string) Room {
	return Room{ID: id, Mode: mode, Node: "n1", Address: "ws://127.0.0.1:7350", Capacity: 4}
}

func mustCreate(t *testing.T, d Directory, r Room, ttl time.Duration) {
	t.Helper()
	if err := d.Create(ctx, r, ttl); err != nil {
		t.Fatalf("create %s: %v", r.ID, err)
	}
}

func mustRoom(t *testing.T, d Directory, id string) Room {
	t.Helper()
	r, err := d.Room(ctx, id)
	if err != nil {
		t.Fatalf("room %s: %v", id, err)
	}
	return r
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// sameRoom compares rooms with time.Time.Equal for the times.
func sameRoom(t *testing.T, got, want Room) {
	t.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.LastAssign.Equal(want.LastAssign) {
		t.Errorf("times: got created %v, last assign %v; want %v, %v", got.CreatedAt, got.LastAssign, want.CreatedAt, want.LastAssign)
	}
	got.CreatedAt, got.LastAssign, want.CreatedAt, want.LastAssign = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if got != want {
		t.Errorf("room:\n got %+v\nwant %+v", got, want)
	}
}

// listAll follows List's cursors to the end and returns the ids in order.
func listAll(t *testing.T, d Directory, f Filter, limit int) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for page := 0; ; page++ {
		rooms, next, err := d.List(ctx, f, cursor, limit)
		if err != nil {
			t.Fatalf("list %+v page %d: %v", f, page, err)
		}
		if len(rooms) > limit {
			t.Fatalf("list %+v page %d: %d rooms for limit %d", f, page, len(rooms), limit)
		}
		for _, r := range rooms {
			ids = append(ids, r.ID)
		}
		if next == "" {
			return ids
		}
		if page > 10000 {
			t.Fatalf("list %+v: no end after %d pages", f, page)
		}
		cursor = next
	}
}

func testCreateAndGet(t *testing.T, e *env) {
	full := Room{
		ID: "r-1.a:b_c", Mode: "arena", Node: "node-7", Address: "ws://10.0.0.7:7350",
		Capacity: 16, Players: 3, State: Waiting, Matchmade: true, Rating: 1512.25,
		Joined: 5, Assigned: 6, LastAssign: e.clock.Now().Add(-time.Second),
		CreatedAt: e.clock.Now().Add(-time.Minute + 123),
	}
	mustCreate(t, e.dir, full, long)
	sameRoom(t, mustRoom(t, e.dir, full.ID), full)

	mustCreate(t, e.dir, room("plain", "duel"), long)
	got := mustRoom(t, e.dir, "plain")
	want := room("plain", "duel")
	want.State, want.CreatedAt = Open, e.clock.Now()
	sameRoom(t, got, want)

	_, err := e.dir.Room(ctx, "nope")
	wantErr(t, "unknown room", err, ErrNotFound)
}

func testInvalid(t *testing.T, e *env) {
	tests := []struct {
		name string
		edit func(r *Room)
	}{
		{"empty id", func(r *Room) { r.ID = "" }},
		{"long id", func(r *Room) { r.ID = strings.Repeat("a", 65) }},
		{"id with space", func(r *Room) { r.ID = "a b" }},
		{"id with slash", func(r *Room) { r.ID = "a/b" }},
		{"no mode", func(r *Room) { r.Mode = "" }},
		{"no node", func(r *Room) { r.Node = "" }},
		{"no address", func(r *Room) { r.Address = "" }},
		{"control in address", func(r *Room) { r.Address = "ws://a\x1fb" }},
		{"capacity 0", func(r *Room) { r.Capacity = 0 }},
		{"capacity 1025", func(r *Room) { r.Capacity = 1025 }},
		{"negative players", func(r *Room) { r.Players = -1 }},
		{"unknown state", func(r *Room) { r.State = "paused" }},
		{"created ended", func(r *Room) { r.State = Ended }},
		{"private without code", func(r *Room) { r.Private = true }},
		{"short code", func(r *Room) { r.Private, r.Code = true, "ABC" }},
		{"long code", func(r *Room) { r.Private, r.Code = true, "ABCDEFGHJKMNP" }},
		{"code with dash", func(r *Room) { r.Private, r.Code = true, "AB-CD" }},
		{"before 1970", func(r *Room) { r.CreatedAt = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tt := range tests {
		r := room("ok", "duel")
		tt.edit(&r)
		wantErr(t, tt.name, e.dir.Create(ctx, r, long), ErrInvalid)
	}
	wantErr(t, "ttl 0", e.dir.Create(ctx, room("ok", "duel"), 0), ErrInvalid)
	if _, err := e.dir.Room(ctx, "ok"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused room exists: %v", err)
	}

	mustCreate(t, e.dir, room("ok", "duel"), long)
	_, err := e.dir.Room(ctx, "bad id")
	wantErr(t, "room with bad id", err, ErrInvalid)
	_, err = e.dir.RoomByCode(ctx, "a")
	wantErr(t, "short code", err, ErrInvalid)
	for _, limit := range []int{0, -1, 101} {
		_, _, err = e.dir.List(ctx, Filter{}, "", limit)
		wantErr(t, fmt.Sprintf("limit %d", limit), err, ErrInvalid)
	}
	_, _, err = e.dir.List(ctx, Filter{State: "paused"}, "", 10)
	wantErr(t, "list unknown state", err, ErrInvalid)
	wantErr(t, "assign 0 seats", e.dir.Assign(ctx, "ok", players(0), e.clock.Now()), ErrInvalid)
	wantErr(t, "report bad state", e.dir.ReportRooms(ctx, "n1", []RoomReport{{ID: "ok", State: "x"}}, long), ErrInvalid)
	wantErr(t, "report bad node", e.dir.ReportRooms(ctx, "", nil, long), ErrInvalid)
	wantErr(t, "report ttl 0", e.dir.ReportRooms(ctx, "n1", nil, 0), ErrInvalid)
	wantErr(t, "heartbeat bad id", e.dir.Heartbeat(ctx, Node{ID: "a b"}, long), ErrInvalid)
	wantErr(t, "delete bad id", e.dir.Delete(ctx, ""), ErrInvalid)
}

func testDuplicateID(t *testing.T, e *env) {
	mustCreate(t, e.dir, room("r1", "duel"), long)
	wantErr(t, "same id", e.dir.Create(ctx, room("r1", "arena"), long), ErrExists)
	p := room("r1", "duel")
	p.Private, p.Code = true, "ABCD"
	wantErr(t, "same id, private", e.dir.Create(ctx, p, long), ErrExists)
	// The refused room did not take its code.
	p.ID = "r2"
	mustCreate(t, e.dir, p, long)
	if r := mustRoom(t, e.dir, "r1"); r.Mode != "duel" {
		t.Fatalf("duplicate changed the room: %+v", r)
	}
}

func testPrivateCode(t *testing.T, e *env) {
	p := room("secret", "duel")
	p.Private, p.Code = true, "abCD12"
	mustCreate(t, e.dir, p, long)
	mustCreate(t, e.dir, room("public", "duel"), long)

	for _, code := range []string{"ABCD12", "abcd12", "AbCd12"} {
		r, err := e.dir.RoomByCode(ctx, code)
		if err != nil || r.ID != "secret" || r.Code != "ABCD12" {
			t.Fatalf("by code %s: %+v, %v", code, r, err)
		}
	}
	_, err := e.dir.RoomByCode(ctx, "ZZZZ99")
	wantErr(t, "unknown code", err, ErrNotFound)

	q := room("other", "duel")
	q.Private, q.Code = true, "ABCD12"
	wantErr(t, "same code", e.dir.Create(ctx, q, long), ErrCodeTaken)
	q.Code = "abcd12"
	wantErr(t, "same code, other case", e.dir.Create(ctx, q, long), ErrCodeTaken)
	if _, err := e.dir.Room(ctx, "other"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("room refused for its code exists: %v", err)
	}

	if ids := listAll(t, e.dir, Filter{}, 10); !slices.Equal(ids, []string{"public"}) {
		t.Fatalf("listed %v, want only the public room", ids)
	}
	if ids := listAll(t, e.dir, Filter{Mode: "duel"}, 10); !slices.Equal(ids, []string{"public"}) {
		t.Fatalf("listed duel %v, want only the public room", ids)
	}

	if err := e.dir.Delete(ctx, "secret"); err != nil {
		t.Fatal(err)
	}
	_, err = e.dir.RoomByCode(ctx, "ABCD12")
	wantErr(t, "code of deleted room", err, ErrNotFound)
	mustCreate(t, e.dir, q, long) // the code is free again
}

func testListFilters(t *testing.T, e *env) {
	yes, no := true, false
	at := e.clock.Now().Add(-time.Hour)
	add := func(id, mode string, edit func(r *Room)) {
		r := room(id, mode)
		r.CreatedAt = at
		at = at.Add(time.Second)
		edit(&r)
		mustCreate(t, e.dir, r, long)
	}
	add("a", "duel", func(r *Room) { r.Capacity = 2 })
	add("b", "duel", func(r *Room) { r.Capacity, r.Players, r.State = 2, 2, Running })
	add("c", "arena", func(r *Room) { r.Capacity, r.Players, r.State, r.Matchmade = 8, 3, Waiting, true })
	add("d", "arena", func(r *Room) { r.Capacity, r.Players, r.State, r.Matchmade = 8, 8, Waiting, true })
	add("e", "duel", func(r *Room) { r.Private, r.Code = true, "PRIV" })
	add("f", "arena", func(r *Room) {})
	// f has no players but every seat handed out.
	if err := e.dir.Assign(ctx, "f", players(4), e.clock.Now()); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all", Filter{}, []string{"a", "b", "c", "d", "f"}},
		{"mode", Filter{Mode: "duel"}, []string{"a", "b"}},
		{"other mode", Filter{Mode: "arena"}, []string{"c", "d", "f"}},
		{"unknown mode", Filter{Mode: "none"}, nil},
		{"state", Filter{State: Waiting}, []string{"c", "d"}},
		{"state open", Filter{State: Open}, []string{"a", "f"}},
		{"has space", Filter{HasSpace: true}, []string{"a", "c"}},
		{"mode with space", Filter{Mode: "arena", HasSpace: true}, []string{"c"}},
		{"matchmade", Filter{Matchmade: &yes}, []string{"c", "d"}},
		{"not matchmade", Filter{Matchmade: &no}, []string{"a", "b", "f"}},
		{"mode not matchmade", Filter{Mode: "arena", Matchmade: &no}, []string{"f"}},
		{"backfill", Filter{Mode: "arena", Matchmade: &yes, HasSpace: true}, []string{"c"}},
		{"nothing", Filter{State: Running, HasSpace: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, limit := range []int{1, 2, 100} {
				if got := listAll(t, e.dir, tt.f, limit); !slices.Equal(got, tt.want) {
					t.Errorf("limit %d: got %v, want %v", limit, got, tt.want)
				}
			}
			rooms, next, err := e.dir.List(ctx, tt.f, "", 100)
			if err != nil || next != "" || len(rooms) != len(tt.want) {
				t.Errorf("one page: %d rooms, next %q, %v", len(rooms), next, err)
			}
		})
	}
	rooms, _, err := e.dir.List(ctx, Filter{Mode: "arena", State: Waiting, HasSpace: true}, "", 10)
	if err != nil || len(rooms) != 1 {
		t.Fatalf("list: %v, %v", rooms, err)
	}
	want := room("c", "arena")
	want.Capacity, want.Players, want.State, want.Matchmade, want.CreatedAt = 8, 3, Waiting, true, e.clock.Now().Add(-time.Hour+2*time.Second)
	sameRoom(t, rooms[0], want)
}

// testListPaging pages through rooms created in no particular order, some
// with equal CreatedAt, while other rooms are created: every room present
// from start to end comes exactly once, in order.
func testListPaging(t *testing.T, e *env) {
	base := e.clock.Now().Add(-time.Hour)
	created := func(i int) time.Time { return base.Add(time.Duration(i*37%101) * time.Millisecond) }
	const n = 230
	for i := range n {
		r := room(fmt.Sprintf("r%03d", i), fmt.Sprintf("m%d", i%2))
		r.CreatedAt = created(i)
		mustCreate(t, e.dir, r, long)
	}
	key := func(r Room) string { return position(r.CreatedAt, r.ID) }

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 300 {
			select {
			case <-stop:
				return
			default:
			}
			r := room(fmt.Sprintf("new%04d", i), fmt.Sprintf("m%d", i%2))
			r.CreatedAt = created(i * 7) // among the old ones
			if i%3 == 0 {
				r.CreatedAt = base.Add(time.Hour) // after them
			}
			if err := e.dir.Create(ctx, r, long); err != nil {
				t.Error(err)
				return
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()

	for _, f := range []Filter{{}, {Mode: "m1"}, {HasSpace: true}} {
		seen := map[string]int{}
		var prev string
		cursor := ""
		for page := 0; ; page++ {
			rooms, next, err := e.dir.List(ctx, f, cursor, 7)
			if err != nil {
				t.Fatalf("%+v page %d: %v", f, page, err)
			}
			for _, r := range rooms {
				if k := key(r); k <= prev {
					t.Fatalf("%+v: %s after %s: out of order", f, k, prev)
				} else {
					prev = k
				}
				seen[r.ID]++
				if f.Mode != "" && r.Mode != f.Mode {
					t.Fatalf("%+v: got room %s of mode %s", f, r.ID, r.Mode)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		for i := range n {
			id := fmt.Sprintf("r%03d", i)
			if want := f.Mode == "" || fmt.Sprintf("m%d", i%2) == f.Mode; want && seen[id] != 1 {
				t.Fatalf("%+v: room %s listed %d times", f, id, seen[id])
			}
		}
		for id, c := range seen {
			if c != 1 {
				t.Fatalf("%+v: room %s listed %d times", f, id, c)
			}
		}
	}
}

func testBadCursor(t *testing.T, e *env) {
	mustCreate(t, e.dir, room("r1", "duel"), long)
	enc := base64.RawURLEncoding.EncodeToString
	for _, c := range []string{
		"!!!",
		"not base64 at all",
		enc([]byte("12345")),
		enc([]byte("0000000000000000001")), // no id
		enc([]byte("000000000000000000x" + "r1")),     // not a time
		enc([]byte("0000000000000000001" + "bad id")), // bad id
	} {
		_, _, err := e.dir.List(ctx, Filter{}, c, 10)
		wantErr(t, "cursor "+c, err, ErrBadCursor)
	}
}

func testAssign(t *testing.T, e *env) {
	mustCreate(t, e.dir, room("r1", "duel"), long) // capacity 4
	now := e.clock.Now()
	if err := e.dir.Assign(ctx, "r1", players(2), now); err != nil {
		t.Fatal(err)
	}
	r := mustRoom(t, e.dir, "r1")
	if r.Assigned != 2 || !r.LastAssign.Equal(now) || r.Pending(now, grace) != 2 || r.Free(now, grace) != 2 {
		t.Fatalf("after assigning 2: %+v", r)
	}
	later := now.Add(time.Second)
	wantErr(t, "3 more seats", e.dir.Assign(ctx, "r1", players(3), later), ErrNoSpace)
	sameRoom(t, mustRoom(t, e.dir, "r1"), r) // the refused assign changed nothing
	if err := e.dir.Assign(ctx, "r1", players(2), later); err != nil {
		t.Fatal(err)
	}
	if r := mustRoom(t, e.dir, "r1"); r.Assigned != 4 || !r.LastAssign.Equal(later) || r.Free(later, grace) != 0 {
		t.Fatalf("after assigning 4: %+v", r)
	}
	wantErr(t, "full room", e.dir.Assign(ctx, "r1", players(1), later), ErrNoSpace)
	wantErr(t, "unknown room", e.dir.Assign(ctx, "nope", players(1), later), ErrNotFound)
}

// players returns n player ids never returned before.
func players(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint("player-", playerIDs.Add(1))
	}
	return out
}

var playerIDs atomic.Int64

// testOneSeatPerPlayer: a player asking again for a seat in a room keeps the
// one held for them, however often they ask, until the grace forgives it.
func testOneSeatPerPlayer(t *testing.T, e *env) {
	mustCreate(t, e.dir, room("r1", "duel"), long) // capacity 4
	assigned := func(want int) {
		t.Helper()
		r := mustRoom(t, e.dir, "r1")
		if now := e.clock.Now(); r.Assigned != want || r.Free(now, grace) != 4-want {
			t.Fatalf("Assigned %d, Free %d; want %d and %d", r.Assigned, r.Free(now, grace), want, 4-want)
		}
	}
	for range 10 {
		if err := e.dir.Assign(ctx, "r1", []string{"ann"}, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
	}
	assigned(1)
	if r := mustRoom(t, e.dir, "r1"); !r.LastAssign.Equal(e.clock.Now().Add(-time.Second)) {
		t.Fatalf("LastAssign %v after a renewal, want its time", r.LastAssign)
	}
	if err := e.dir.Assign(ctx, "r1", []string{"bob", "cat", "bob", "dan"}, e.clock.Now()); err != nil {
		t.Fatalf("three more players (bob twice) in the three free seats: %v", err)
	}
	assigned(4)
	// In the full room ann renews her seat; eve finds none, and a request
	// for ann and eve together changes nothing.
	if err := e.dir.Assign(ctx, "r1", []string{"ann"}, e.clock.Now()); err != nil {
		t.Fatalf("ann renews her seat in the full room: %v", err)
	}
	before := mustRoom(t, e.dir, "r1")
	wantErr(t, "eve in the full room", e.dir.Assign(ctx, "r1", []string{"eve"}, e.clock.Now()), ErrNoSpace)
	wantErr(t, "ann and eve in the full room", e.dir.Assign(ctx, "r1", []string{"ann", "eve"}, e.clock.Now().Add(time.Second)), ErrNoSpace)
	sameRoom(t, mustRoom(t, e.dir, "r1"), before)
	// A renewal holds the seat a grace from the renewal, not from the
	// first: the room stays full, yet ann's requests still succeed.
	for range 2 {
		e.clock.Advance(grace - time.Second)
		if err := e.dir.Assign(ctx, "r1", []string{"ann"}, e.clock.Now()); err != nil {
			t.Fatalf("ann renews within the grace of her last renewal: %v", err)
		}
	}
	assigned(4)
	// Once the grace passes, the seat is forgiven and ann takes a new one.
	e.clock.Advance(grace)
	if err := e.dir.Assign(ctx, "r1", []string{"ann"}, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	assigned(1)

	// Racing requests of one player take one seat.
	mustCreate(t, e.dir, room("r2", "duel"), long)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := e.dir.Assign(ctx, "r2", []string{"zed"}, e.clock.Now()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if r := mustRoom(t, e.dir, "r2"); r.Assigned != 1 {
		t.Fatalf("20 racing requests of one player: Assigned %d, want 1", r.Assigned)
	}
}

// testAssignConcurrent races assigners on one room: the seats they get never
// exceed its capacity.
func testAssignConcurrent(t *testing.T, e *env) {
	r := room("r1", "arena")
	r.Capacity = 16
	mustCreate(t, e.dir, r, long)
	mustCreate(t, e.dir, room("r2", "arena"), long)
	now := e.clock.Now()
	var wg sync.WaitGroup
	var ones, mixed atomic.Int64
	for i := range 48 {
		wg.Go(func() {
			err := e.dir.Assign(ctx, "r1", players(1), now)
			switch {
			case err == nil:
				ones.Add(1)
			case !errors.Is(err, ErrNoSpace):
				t.Error(err)
			}
		})
		seats := 1 + i%3
		wg.Go(func() {
			err := e.dir.Assign(ctx, "r2", players(seats), now)
			switch {
			case err == nil:
				mixed.Add(int64(seats))
			case !errors.Is(err, ErrNoSpace):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := mustRoom(t, e.dir, "r1"); ones.Load() != 16 || got.Assigned != 16 {
		t.Fatalf("16 seats, 48 assigners of 1: %d succeeded, Assigned %d", ones.Load(), got.Assigned)
	}
	// A 3-seat assigner fails only while fewer than 3 seats are free.
	if got := mustRoom(t, e.dir, "r2"); mixed.Load() != int64(got.Assigned) || got.Assigned > 4 || got.Assigned < 2 {
		t.Fatalf("4 seats, assigners of 1 to 3: %d seats given, Assigned %d", mixed.Load(), got.Assigned)
	}
}

// testPendingGrace: handed-out seats hold a room until their players arrive
// or the grace passes.
func testPendingGrace(t *testing.T, e *env) {
	mustCreate(t, e.dir, room("r1", "duel"), long) // capacity 4
	hasSpace := func() bool {
		t.Helper()
		return slices.Equal(listAll(t, e.dir, Filter{HasSpace: true}, 10), []string{"r1"})
	}
	if !hasSpace() {
		t.Fatal("empty room not listed with space")
	}
	if err := e.dir.Assign(ctx, "r1", players(4), e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if hasSpace() {
		t.Fatal("room with every seat handed out listed with space")
	}
	// Two arrive: two still pending.
	if err := e.dir.ReportRooms(ctx, "n1", []RoomReport{{ID: "r1", Players: 2, Joined: 2, State: Waiting}}, long); err != nil {
		t.Fatal(err)
	}
	r := mustRoom(t, e.dir, "r1")
	if now := e.clock.Now(); r.Pending(now, grace) != 2 || r.Free(now, grace) != 0 || hasSpace() {
		t.Fatalf("two of four arrived: pending %d, free %d", r.Pending(now, grace), r.Free(now, grace))
	}
	wantErr(t, "assign within grace", e.dir.Assign(ctx, "r1", players(1), e.clock.Now()), ErrNoSpace)

	// The grace passes: the no-shows are forgiven.
	e.clock.Advance(grace)
	now := e.clock.Now()
	if r.Pending(now, grace) != 0 || r.Free(now, grace) != 2 || !hasSpace() {
		t.Fatalf("after the grace: pending %d, free %d", r.Pending(now, grace), r.Free(now, grace))
	}
	if err := e.dir.Assign(ctx, "r1", players(1), now); err != nil {
		t.Fatal(err)
	}
	// Only the new seat is pending, not the forgiven ones.
	r = mustRoom(t, e.dir, "r1")
	if r.Assigned != 3 || r.Pending(now, grace) != 1 || r.Free(now, grace) != 1 {
		t.Fatalf("one seat after the grace: %+v, pending %d", r, r.Pending(now, grace))
	}
	wantErr(t, "two seats with one free", e.dir.Assign(ctx, "r1", players(2), now), ErrNoSpace)

	// Joins beyond the seats handed out (a player left and came back) do not
	// cancel new seats.
	if err := e.dir.ReportRooms(ctx, "n1", []RoomReport{{ID: "r1", Players: 2, Joined: 5, State: Running}}, long); err != nil {
		t.Fatal(err)
	}
	if err := e.dir.Assign(ctx, "r1", players(1), now); err != nil {
		t.Fatal(err)
	}
	r = mustRoom(t, e.dir, "r1")
	if r.Pending(now, grace) != 1 || r.Free(now, grace) != 1 {
		t.Fatalf("seat after rejoins: %+v, pending %d", r, r.Pending(now, grace))
	}
}

func testReportRooms(t *testing.T, e *env) {
	mustCreate(t, e.dir, room("mine", "duel"), long)
	theirs := room("theirs", "duel")
	theirs.Node = "n2"
	mustCreate(t, e.dir, theirs, long)
	done := room("done", "duel")
	mustCreate(t, e.dir, done, long)
	priv := room("priv", "duel")
	priv.Private, priv.Code = true, "PRIV42"
	mustCreate(t, e.dir, priv, long)

	err := e.dir.ReportRooms(ctx, "n1", []RoomReport{
		{ID: "mine", Players: 3, Joined: 4, State: Running},
		{ID: "theirs", Players: 1, Joined: 1, State: Running},
		{ID: "ghost", Players: 1, Joined: 1, State: Waiting},
		{ID: "done", Players: 0, Joined: 2, State: Ended},
		{ID: "priv", Players: 0, Joined: 2, State: Ended},
	}, long)
	if err != nil {
		t.Fatal(err)
	}
	if r := mustRoom(t, e.dir, "mine"); r.Players != 3 || r.Joined != 4 || r.State != Running {
		t.Fatalf("reported room: %+v", r)
	}
	if r := mustRoom(t, e.dir, "theirs"); r.Players != 0 || r.State != Open {
		t.Fatalf("another node's report changed %+v", r)
	}
	for _, id := range []string{"ghost", "done", "priv"} {
		_, err := e.dir.Room(ctx, id)
		wantErr(t, id, err, ErrNotFound)
	}
	_, err = e.dir.RoomByCode(ctx, "priv42")
	wantErr(t, "code of an ended room", err, ErrNotFound)
	if ids := listAll(t, e.dir, Filter{Mode: "duel"}, 10); !slices.Equal(ids, []string{"mine", "theirs"}) {
		t.Fatalf("listed %v", ids)
	}
	priv.ID = "priv2"
	mustCreate(t, e.dir, priv, long) // the code is free again
	if err := e.dir.ReportRooms(ctx, "n1", nil, long); err != nil {
		t.Fatalf("empty report: %v", err)
	}
}

func testDelete(t *testing.T, e *env) {
	yes := true
	r := room("r1", "arena")
	r.Matchmade = true
	mustCreate(t, e.dir, r, long)
	mustCreate(t, e.dir, room("r2", "arena"), long)
	if err := e.dir.Delete(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	_, err := e.dir.Room(ctx, "r1")
	wantErr(t, "deleted room", err, ErrNotFound)
	wantErr(t, "delete again", e.dir.Delete(ctx, "r1"), ErrNotFound)
	for _, f := range []Filter{{}, {Mode: "arena"}, {Matchmade: &yes}, {Mode: "arena", Matchmade: &yes}} {
		if ids := listAll(t, e.dir, f, 10); slices.Contains(ids, "r1") {
			t.Fatalf("deleted room listed with %+v: %v", f, ids)
		}
	}
	mustCreate(t, e.dir, r, long) // the id is free again
}

// testExpiry: a room lives for its time to live unless its node reports it.
func testExpiry(t *testing.T, e *env) {
	mustCreate(t, e.dir, room("gone", "duel"), short)
	mustCreate(t, e.dir, room("other", "duel"), short) // of n1, reported by n2
	p := room("priv", "duel")
	p.Private, p.Code = true, "GONE99"
	mustCreate(t, e.dir, p, short)
	if err := e.dir.ReportRooms(ctx, "n2", []RoomReport{{ID: "other", State: Waiting}}, long); err != nil {
		t.Fatal(err)
	}
	// Refreshed right after they were created, well within short.
	kp := room("kpriv", "duel")
	kp.Private, kp.Code = true, "KEPT99"
	mustCreate(t, e.dir, kp, short)
	mustCreate(t, e.dir, room("kept", "duel"), short)
	if err := e.dir.ReportRooms(ctx, "n1", []RoomReport{
		{ID: "kept", Players: 1, Joined: 1, State: Waiting},
		{ID: "kpriv", Players: 1, Joined: 1, State: Waiting},
	}, long); err != nil {
		t.Fatal(err)
	}
	e.pass(short + 50*time.Millisecond)

	for _, id := range []string{"gone", "other", "priv"} {
		_, err := e.dir.Room(ctx, id)
		wantErr(t, "expired room "+id, err, ErrNotFound)
	}
	_, err := e.dir.RoomByCode(ctx, "GONE99")
	wantErr(t, "code of expired room", err, ErrNotFound)
	if r, err := e.dir.RoomByCode(ctx, "KEPT99"); err != nil || r.ID != "kpriv" {
		t.Fatalf("code of a refreshed room: %+v, %v", r, err)
	}
	mustRoom(t, e.dir, "kept")
	if ids := listAll(t, e.dir, Filter{}, 10); !slices.Equal(ids, []string{"kept"}) {
		t.Fatalf("listed %v, want [kept]", ids)
	}
	// The expired room's id and code are free.
	p.ID = "gone"
	mustCreate(t, e.dir, p, long)
	wantErr(t, "assign in an expired room", e.dir.Assign(ctx, "other", players(1), e.clock.Now()), ErrNotFound)
}

func testNodes(t *testing.T, e *env) {
	nodes, err := e.dir.Nodes(ctx)
	if err != nil || len(nodes) != 0 {
		t.Fatalf("no nodes: %v, %v", nodes, err)
	}
	seen := e.clock.Now().Add(-time.Second)
	for _, n := range []Node{
		{ID: "n2", Address: "ws://127.0.0.2:7350", Rooms: 1, Players: 2, Seen: seen},
		{ID: "n1", Address: "ws://127.0.0.1:7350"},
	} {
		if err := e.dir.Heartbeat(ctx, n, long); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.dir.Heartbeat(ctx, Node{ID: "n3", Address: "ws://127.0.0.3:7350"}, long); err != nil {
		t.Fatal(err)
	}
	if err := e.dir.Heartbeat(ctx, Node{ID: "n1", Address: "ws://127.0.0.1:7350", Rooms: 3, Players: 9}, long); err != nil {
		t.Fatal(err)
	}
	nodes, err = e.dir.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range nodes {
		ids = append(ids, n.ID)
	}
	if !slices.Equal(ids, []string{"n1", "n2", "n3"}) {
		t.Fatalf("nodes %v", ids)
	}
	if n := nodes[0]; n.Rooms != 3 || n.Players != 9 || !n.Seen.Equal(e.clock.Now()) {
		t.Fatalf("updated node: %+v", n)
	}
	if n := nodes[1]; n.Address != "ws://127.0.0.2:7350" || n.Rooms != 1 || n.Players != 2 || !n.Seen.Equal(seen) {
		t.Fatalf("node: %+v", n)
	}

	// n3 beats once more with a short time to live, and stops.
	if err := e.dir.Heartbeat(ctx, Node{ID: "n3", Address: "ws://127.0.0.3:7350"}, short); err != nil {
		t.Fatal(err)
	}
	e.pass(short + 50*time.Millisecond)
	nodes, err = e.dir.Nodes(ctx)
	if err != nil || len(nodes) != 2 || nodes[0].ID != "n1" || nodes[1].ID != "n2" {
		t.Fatalf("after n3 expired: %+v, %v", nodes, err)
	}
}

func TestPendingAndFree(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		r             Room
		pending, free int
	}{
		{"empty", Room{Capacity: 4}, 0, 4},
		{"players", Room{Capacity: 4, Players: 3, Joined: 3}, 0, 1},
		{"pending", Room{Capacity: 4, Assigned: 3, Joined: 1, Players: 1, LastAssign: now}, 2, 1},
		{"just within grace", Room{Capacity: 4, Assigned: 3, LastAssign: now.Add(-grace + 1)}, 3, 1},
		{"grace passed", Room{Capacity: 4, Assigned: 3, LastAssign: now.Add(-grace)}, 0, 4},
		{"never assigned", Room{Capacity: 4, Players: 1}, 0, 3},
		{"more joins than seats", Room{Capacity: 4, Assigned: 1, Joined: 3, Players: 2, LastAssign: now}, 0, 2},
		{"overfull", Room{Capacity: 4, Players: 3, Assigned: 2, LastAssign: now}, 2, 0},
		{"assigned in the future", Room{Capacity: 4, Assigned: 1, LastAssign: now.Add(time.Minute)}, 1, 3},
	}
	for _, tt := range tests {
		if p, f := tt.r.Pending(now, grace), tt.r.Free(now, grace); p != tt.pending || f != tt.free {
			t.Errorf("%s: pending %d, free %d; want %d, %d", tt.name, p, f, tt.pending, tt.free)
		}
	}
}

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := NewCode()
		if len(c) != 6 || !validCode(c) || strings.ContainsAny(c, "01ILOilo") || upper(c) != c {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 990 {
		t.Fatalf("%d distinct codes of 1000", len(seen))
	}
}

func TestCursorOrder(t *testing.T) {
	t0 := time.Unix(1700000000, 5)
	ordered := []string{
		position(time.Unix(0, 0), "z"),
		position(t0, "a"),
		position(t0, "a-"),
		position(t0, "a.b"),
		position(t0, "aa"),
		position(t0, "b"),
		position(t0.Add(1), "A"),
	}
	if !slices.IsSorted(ordered) {
		t.Fatalf("positions out of order: %q", ordered)
	}
	for _, p := range ordered {
		got, err := decodeCursor(encodeCursor(p))
		if err != nil || got != p {
			t.Fatalf("cursor of %q: %q, %v", p, got, err)
		}
	}
}
