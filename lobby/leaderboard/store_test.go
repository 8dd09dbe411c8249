package leaderboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backend prepares empty storage for one test and returns a function that
// opens a Store on it. Calling open again, after closing the previous
// store, must give back everything that store acknowledged.
type backend func(t *testing.T) (open func() Store)

// testNow is "now" for the conformance suite, so seasons do not depend on
// the wall clock.
var testNow = time.Date(2025, 3, 10, 12, 30, 0, 0, time.UTC)

// clock is a settable clock shared by the stores of one test.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// env is one conformance test's storage, clock and current store.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *clock
	open  func() Store
	s     Store
}

func newEnv(t *testing.T, b backend) *env {
	e := &env{t: t, ctx: context.Background(), clock: &clock{}, open: b(t)}
	e.clock.set(testNow)
	e.s = e.reopen()
	return e
}

// reopen opens a new store on the same storage, with the test clock.
func (e *env) reopen() Store {
	s := e.open()
	switch s := s.(type) {
	case *BoltStore:
		s.now = e.clock.now
	case *RedisStore:
		s.now = e.clock.now
	default:
		e.t.Fatalf("unknown store %T", s)
	}
	return s
}

func (e *env) create(b Board) {
	e.t.Helper()
	if err := e.s.CreateBoard(e.ctx, b); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) submit(board, player, name string, score int64, at time.Time) Entry {
	e.t.Helper()
	en, err := e.s.Submit(e.ctx, board, player, name, score, at)
	if err != nil {
		e.t.Fatal(err)
	}
	return en
}

// fill sets scores concurrently: the outcome of distinct players' first
// submits does not depend on their order.
func (e *env) fill(board string, scores map[string]int64, at time.Time) {
	e.t.Helper()
	players := make(chan string)
	var wg sync.WaitGroup
	var failed atomic.Value
	for range 8 {
		wg.Go(func() {
			for p := range players {
				if _, err := e.s.Submit(e.ctx, board, p, "name "+p, scores[p], at); err != nil {
					failed.Store(err)
				}
			}
		})
	}
	for p := range scores {
		players <- p
	}
	close(players)
	wg.Wait()
	if err := failed.Load(); err != nil {
		e.t.Fatal(err)
	}
}

// all pages through a season with Top and checks the cursors.
func (e *env) all(board, season string, limit int) []Entry {
	e.t.Helper()
	var out []Entry
	cursor := ""
	for page := 0; ; page++ {
		got, next, err := e.s.Top(e.ctx, board, season, cursor, limit)
		if err != nil {
			e.t.Fatalf("page %d: %v", page, err)
		}
		if len(got) > limit {
			e.t.Fatalf("page %d: %d entries for limit %d", page, len(got), limit)
		}
		if next != "" && len(got) != limit {
			e.t.Fatalf("page %d: short page of %d with a next cursor", page, len(got))
		}
		out = append(out, got...)
		if next == "" {
			return out
		}
		cursor = next
	}
}

// want is the expected order of a board: scores sorted per order, ties by
// player id.
func want(order Order, scores map[string]int64) []Entry {
	var out []Entry
	for p, s := range scores {
		out = append(out, Entry{Player: p, Name: "name " + p, Score: s})
	}
	slices.SortFunc(out, func(a, b Entry) int {
		c := cmp.Compare(a.Score, b.Score)
		if order == Descending {
			c = -c
		}
		if c != 0 {
			return c
		}
		return cmp.Compare(a.Player, b.Player)
	})
	for i := range out {
		out[i].Rank = int64(i) + 1
	}
	return out
}

// sameEntries compares player, name, score and rank, and UpdatedAt if set
// in want.
func sameEntries(t *testing.T, got, want []Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Player != w.Player || g.Name != w.Name || g.Score != w.Score || g.Rank != w.Rank ||
			(!w.UpdatedAt.IsZero() && !g.UpdatedAt.Equal(w.UpdatedAt)) {
			t.Fatalf("entry %d: got %+v, want %+v", i, g, w)
		}
	}
}

func randomScores(n int, spread int64, seed uint64) map[string]int64 {
	r := rand.New(rand.NewPCG(seed, 1))
	scores := make(map[string]int64, n)
	for i := range n {
		scores[fmt.Sprintf("p%03d", r.IntN(10*n))+fmt.Sprint(i)] = r.Int64N(spread) - spread/2
	}
	return scores
}

// testStore is the conformance suite: both stores must pass it unchanged.
func testStore(t *testing.T, b backend) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"Operators", testOperators},
		{"Ties", testTies},
		{"ExtremeScores", testExtremeScores},
		{"TopPages", testTopPages},
		{"Rank", testRank},
		{"Around", testAround},
		{"Seasons", testSeasons},
		{"Boards", testBoards},
		{"UnknownBoard", testUnknownBoard},
		{"BadInput", testBadInput},
		{"ConcurrentSubmits", testConcurrentSubmits},
		{"Reopen", testReopen},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newEnv(t, b)) })
	}
}

func testOperators(t *testing.T, e *env) {
	at := testNow
	tests := []struct {
		order Order
		op    Operator
		want  []int64 // after submitting 10, 5, 20, -7 in turn
	}{
		{Descending, Best, []int64{10, 10, 20, 20}},
		{Ascending, Best, []int64{10, 5, 5, -7}},
		{Descending, Set, []int64{10, 5, 20, -7}},
		{Ascending, Set, []int64{10, 5, 20, -7}},
		{Descending, Increment, []int64{10, 15, 35, 28}},
		{Ascending, Increment, []int64{10, 15, 35, 28}},
	}
	for _, tt := range tests {
		t.Run(tt.order.String()+"/"+tt.op.String(), func(t *testing.T) {
			e.t = t
			id := tt.order.String() + "-" + tt.op.String()
			e.create(Board{ID: id, Order: tt.order, Operator: tt.op})
			// A rival keeps the player's rank moving.
			e.submit(id, "rival", "Rival", 12, at)
			for i, score := range []int64{10, 5, 20, -7} {
				at := at.Add(time.Duration(i) * time.Second)
				name := fmt.Sprintf("Name %d", i)
				got := e.submit(id, "ann", name, score, at)
				// Ties with the rival go to "ann", the lower player id.
				rank := int64(2)
				if tt.order == Descending && tt.want[i] >= 12 || tt.order == Ascending && tt.want[i] <= 12 {
					rank = 1
				}
				want := Entry{Player: "ann", Name: name, Score: tt.want[i], Rank: rank, UpdatedAt: at}
				sameEntries(t, []Entry{got}, []Entry{want})
				r, err := e.s.Rank(e.ctx, id, "", "ann")
				if err != nil {
					t.Fatal(err)
				}
				sameEntries(t, []Entry{r}, []Entry{want})
			}
		})
	}
}

func testTies(t *testing.T, e *env) {
	for _, order := range []Order{Descending, Ascending} {
		t.Run(order.String(), func(t *testing.T) {
			e.t = t
			id := "ties-" + order.String()
			e.create(Board{ID: id, Order: order, Operator: Set})
			scores := map[string]int64{"d": 5, "b": 5, "a": 5, "c": 5, "top": 9, "low": 1, "B": 5, "bb": 5}
			if order == Ascending {
				scores["top"], scores["low"] = 1, 9
			}
			e.fill(id, scores, testNow)
			got := e.all(id, "", 3)
			sameEntries(t, got, want(order, scores))
			players := make([]string, len(got))
			for i, en := range got {
				players[i] = en.Player
			}
			// Byte order: upper case before lower, prefixes first.
			if w := "top B a b bb c d low"; strings.Join(players, " ") != w {
				t.Fatalf("order %v, want %s", players, w)
			}
		})
	}
}

func testExtremeScores(t *testing.T, e *env) {
	e.create(Board{ID: "extreme", Operator: Set})
	scores := map[string]int64{"max": MaxScore, "max-1": MaxScore - 1, "min": -MaxScore, "min+1": -MaxScore + 1, "zero": 0}
	e.fill("extreme", scores, testNow)
	sameEntries(t, e.all("extreme", "", 10), want(Descending, scores))

	e.create(Board{ID: "inc", Order: Ascending, Operator: Increment})
	e.submit("inc", "p", "", MaxScore-1, testNow)
	if got := e.submit("inc", "p", "", 1, testNow); got.Score != MaxScore {
		t.Fatalf("got %d, want 2^53", got.Score)
	}
	if got := e.submit("inc", "p", "", -MaxScore, testNow); got.Score != 0 {
		t.Fatalf("got %d, want 0", got.Score)
	}
	e.submit("inc", "p", "", -MaxScore, testNow)
	if _, err := e.s.Submit(e.ctx, "inc", "p", "", -1, testNow); !errors.Is(err, ErrInvalid) {
		t.Fatalf("increment past -2^53: got %v, want ErrInvalid", err)
	}
	if r, _ := e.s.Rank(e.ctx, "inc", "", "p"); r.Score != -MaxScore {
		t.Fatalf("after a refused increment: %+v", r)
	}
}

func testTopPages(t *testing.T, e *env) {
	scores := randomScores(57, 40, 1) // a small spread, for many ties
	e.create(Board{ID: "pages"})
	e.fill("pages", scores, testNow)
	w := want(Descending, scores)
	for _, limit := range []int{1, 7, 19, 57, 1000} {
		sameEntries(t, e.all("pages", "", limit), w)
	}
	// A page that ends exactly at the last entry has no next cursor.
	got, next, err := e.s.Top(e.ctx, "pages", "", "", 57)
	if err != nil || next != "" || len(got) != 57 {
		t.Fatalf("full page: %d entries, next %q, %v", len(got), next, err)
	}
	// A cursor keeps working, and keeps to its season, after the store
	// moves on to a new season.
	e.create(Board{ID: "daily", Reset: "@daily"})
	e.fill("daily", scores, testNow)
	_, next, err = e.s.Top(e.ctx, "daily", "", "", 50)
	if err != nil || next == "" {
		t.Fatalf("first page: next %q, %v", next, err)
	}
	e.clock.set(testNow.Add(24 * time.Hour))
	got, next, err = e.s.Top(e.ctx, "daily", "", next, 50)
	if err != nil || next != "" {
		t.Fatalf("second page: next %q, %v", next, err)
	}
	sameEntries(t, got, want(Descending, scores)[50:])
	if got, _, _ := e.s.Top(e.ctx, "daily", "", "", 50); len(got) != 0 {
		t.Fatalf("new season has %d entries", len(got))
	}
}

func testRank(t *testing.T, e *env) {
	scores := randomScores(40, 1000, 2)
	e.create(Board{ID: "rank", Order: Ascending})
	e.fill("rank", scores, testNow)
	for _, w := range want(Ascending, scores) {
		got, err := e.s.Rank(e.ctx, "rank", "", w.Player)
		if err != nil {
			t.Fatal(err)
		}
		sameEntries(t, []Entry{got}, []Entry{w})
	}
	if _, err := e.s.Rank(e.ctx, "rank", "", "nobody"); !errors.Is(err, ErrNotRanked) {
		t.Fatalf("unranked player: got %v, want ErrNotRanked", err)
	}
	if _, err := e.s.Rank(e.ctx, "rank", "20250101T000000Z", w0(scores)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("dated season on a board without reset: got %v, want ErrInvalid", err)
	}
	if _, err := e.s.Rank(e.ctx, "rank", AllSeason, w0(scores)); err != nil {
		t.Fatalf("season %q: %v", AllSeason, err)
	}
}

func w0(scores map[string]int64) string {
	for p := range scores {
		return p
	}
	return ""
}

func testAround(t *testing.T, e *env) {
	scores := randomScores(20, 100, 3)
	e.create(Board{ID: "around"})
	e.fill("around", scores, testNow)
	w := want(Descending, scores)
	tests := []struct {
		rank, n, from, to int // 1-based rank of the player; expected ranks from..to
	}{
		{1, 2, 1, 3},
		{2, 2, 1, 4},
		{10, 2, 8, 12},
		{10, 0, 10, 10},
		{19, 2, 17, 20},
		{20, 2, 18, 20},
		{20, 100, 1, 20},
		{5, 30, 1, 20},
	}
	for _, tt := range tests {
		got, err := e.s.Around(e.ctx, "around", "", w[tt.rank-1].Player, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		sameEntries(t, got, w[tt.from-1:tt.to])
	}
	if _, err := e.s.Around(e.ctx, "around", "", "nobody", 3); !errors.Is(err, ErrNotRanked) {
		t.Fatalf("unranked player: got %v, want ErrNotRanked", err)
	}
}

func testSeasons(t *testing.T, e *env) {
	e.create(Board{ID: "daily", Reset: "@daily"})
	day := func(d int) time.Time { return time.Date(2025, 3, d, 0, 0, 0, 0, time.UTC) }
	// Days 1, 2 and 4; submits at the edges of day 2.
	e.submit("daily", "ann", "Ann", 10, day(1).Add(5*time.Hour))
	e.submit("daily", "ann", "Ann", 20, day(2))
	e.submit("daily", "bob", "Bob", 30, day(3).Add(-time.Nanosecond))
	e.submit("daily", "ann", "Ann", 40, day(4).Add(23*time.Hour))
	// Now is day 10; nothing yet.
	tops := map[string][]Entry{
		"20250301T000000Z": {{Player: "ann", Name: "Ann", Score: 10, Rank: 1}},
		"20250302T000000Z": {{Player: "bob", Name: "Bob", Score: 30, Rank: 1}, {Player: "ann", Name: "Ann", Score: 20, Rank: 2}},
		"20250304T000000Z": {{Player: "ann", Name: "Ann", Score: 40, Rank: 1}},
		"20250310T000000Z": nil,
		"":                 nil,
		"20250305T000000Z": nil,
	}
	check := func() {
		t.Helper()
		for season, w := range tops {
			got, _, err := e.s.Top(e.ctx, "daily", season, "", 10)
			if err != nil {
				t.Fatalf("season %q: %v", season, err)
			}
			sameEntries(t, got, w)
		}
		got, err := e.s.Seasons(e.ctx, "daily")
		if err != nil {
			t.Fatal(err)
		}
		w := []Season{
			{ID: "20250310T000000Z", Start: day(10)},
			{ID: "20250304T000000Z", Start: day(4), End: day(5)},
			{ID: "20250302T000000Z", Start: day(2), End: day(3)},
			{ID: "20250301T000000Z", Start: day(1), End: day(2)},
		}
		if !slices.EqualFunc(got, w, func(a, b Season) bool {
			return a.ID == b.ID && a.Start.Equal(b.Start) && a.End.Equal(b.End)
		}) {
			t.Fatalf("seasons:\n got %v\nwant %v", got, w)
		}
	}
	check()
	e.s.Close()
	e.s = e.reopen()
	check()

	// Submitting now lands in the current season; the day after, that season
	// is past and keeps its scores.
	e.submit("daily", "cy", "Cy", 5, time.Time{})
	e.clock.set(testNow.Add(24 * time.Hour))
	if got, _, _ := e.s.Top(e.ctx, "daily", "", "", 10); len(got) != 0 {
		t.Fatalf("day 11 has %v", got)
	}
	got, _, err := e.s.Top(e.ctx, "daily", "20250310T000000Z", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	sameEntries(t, got, []Entry{{Player: "cy", Name: "Cy", Score: 5, Rank: 1, UpdatedAt: testNow}})
	seasons, err := e.s.Seasons(e.ctx, "daily")
	if err != nil || len(seasons) != 5 || seasons[0].ID != "20250311T000000Z" || !seasons[1].End.Equal(day(11)) {
		t.Fatalf("seasons on day 11: %v, %v", seasons, err)
	}

	// A 5-field schedule, and a board without one.
	e.create(Board{ID: "sixhourly", Reset: "0 */6 * * *"})
	en := e.submit("sixhourly", "ann", "", 1, time.Date(2025, 3, 9, 17, 59, 0, 0, time.UTC))
	if _, err := e.s.Rank(e.ctx, "sixhourly", "20250309T120000Z", "ann"); err != nil {
		t.Fatalf("six-hourly season: %v (entry %+v)", err, en)
	}
	e.create(Board{ID: "forever"})
	e.submit("forever", "ann", "", 1, day(1))
	e.submit("forever", "bob", "", 2, day(9))
	seasons, err = e.s.Seasons(e.ctx, "forever")
	if err != nil || len(seasons) != 1 || seasons[0] != (Season{ID: AllSeason}) {
		t.Fatalf("seasons of a board without reset: %v, %v", seasons, err)
	}
	if got, _, _ := e.s.Top(e.ctx, "forever", AllSeason, "", 10); len(got) != 2 {
		t.Fatalf("season all: %v", got)
	}
}

func testBoards(t *testing.T, e *env) {
	boards := []Board{
		{ID: "b.weekly", Order: Ascending, Operator: Increment, Reset: "@weekly"},
		{ID: "a_1-x", Operator: Set},
		{ID: strings.Repeat("z", MaxBoardID), Reset: "0 0 1 */3 *"},
	}
	for _, b := range boards {
		e.create(b)
		e.create(b) // idempotent
	}
	for _, b := range []Board{
		{ID: "a_1-x", Operator: Best},
		{ID: "a_1-x", Operator: Set, Order: Ascending},
		{ID: "a_1-x", Operator: Set, Reset: "@daily"},
	} {
		if err := e.s.CreateBoard(e.ctx, b); !errors.Is(err, ErrBoardExists) {
			t.Fatalf("create %+v over %+v: got %v, want ErrBoardExists", b, boards[1], err)
		}
	}
	got, err := e.s.Boards(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if w := []Board{boards[1], boards[0], boards[2]}; !slices.Equal(got, w) {
		t.Fatalf("boards:\n got %v\nwant %v", got, w)
	}
	if b, err := e.s.Board(e.ctx, "b.weekly"); err != nil || b != boards[0] {
		t.Fatalf("board: %+v, %v", b, err)
	}

	// Deleting a board deletes its scores: a new board of that id starts empty.
	e.submit("a_1-x", "ann", "", 3, testNow)
	if err := e.s.DeleteBoard(e.ctx, "a_1-x"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteBoard(e.ctx, "a_1-x"); !errors.Is(err, ErrUnknownBoard) {
		t.Fatalf("second delete: got %v, want ErrUnknownBoard", err)
	}
	e.create(Board{ID: "a_1-x", Operator: Increment})
	if _, err := e.s.Rank(e.ctx, "a_1-x", "", "ann"); !errors.Is(err, ErrNotRanked) {
		t.Fatalf("re-created board: got %v, want ErrNotRanked", err)
	}
	e.submit("a_1-x", "ann", "", 3, testNow)
	if got := e.submit("a_1-x", "ann", "", 3, testNow); got.Score != 6 {
		t.Fatalf("re-created board uses the new operator: got %d, want 6", got.Score)
	}
	if got, _ := e.s.Boards(e.ctx); len(got) != 3 {
		t.Fatalf("boards after re-create: %v", got)
	}
}

func testUnknownBoard(t *testing.T, e *env) {
	e.create(Board{ID: "known"})
	calls := map[string]func() error{
		"Board":       func() error { _, err := e.s.Board(e.ctx, "nope"); return err },
		"DeleteBoard": func() error { return e.s.DeleteBoard(e.ctx, "nope") },
		"Submit":      func() error { _, err := e.s.Submit(e.ctx, "nope", "ann", "", 1, testNow); return err },
		"Top":         func() error { _, _, err := e.s.Top(e.ctx, "nope", "", "", 10); return err },
		"Rank":        func() error { _, err := e.s.Rank(e.ctx, "nope", "", "ann"); return err },
		"Around":      func() error { _, err := e.s.Around(e.ctx, "nope", "", "ann", 1); return err },
		"Seasons":     func() error { _, err := e.s.Seasons(e.ctx, "nope"); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrUnknownBoard) {
			t.Errorf("%s: got %v, want ErrUnknownBoard", name, err)
		}
	}
}

func testBadInput(t *testing.T, e *env) {
	e.create(Board{ID: "desc"})
	e.create(Board{ID: "daily", Reset: "@daily"})
	e.create(Board{ID: "inc", Operator: Increment})
	scores := randomScores(30, 100, 4)
	e.fill("desc", scores, testNow)
	e.fill("daily", scores, testNow)
	e.submit("inc", "big", "", MaxScore, testNow)
	e.submit("inc", "small", "", -MaxScore, testNow)
	_, cursor, _ := e.s.Top(e.ctx, "desc", "", "", 10)
	_, dailyCursor, _ := e.s.Top(e.ctx, "daily", "", "", 10)
	before := func() [][]Entry {
		return [][]Entry{e.all("desc", "", 1000), e.all("daily", "", 1000), e.all("inc", "", 1000)}
	}()

	create := func(b Board) func() error { return func() error { return e.s.CreateBoard(e.ctx, b) } }
	submit := func(board, player, name string, score int64, at time.Time) func() error {
		return func() error { _, err := e.s.Submit(e.ctx, board, player, name, score, at); return err }
	}
	top := func(board, season, cursor string, limit int) func() error {
		return func() error { _, _, err := e.s.Top(e.ctx, board, season, cursor, limit); return err }
	}
	around := func(board, season, player string, n int) func() error {
		return func() error { _, err := e.s.Around(e.ctx, board, season, player, n); return err }
	}
	tampered := []byte(cursor)
	tampered[len(tampered)/2] ^= 1
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"board id empty", create(Board{}), ErrInvalid},
		{"board id too long", create(Board{ID: strings.Repeat("a", MaxBoardID+1)}), ErrInvalid},
		{"board id upper case", create(Board{ID: "Arena"}), ErrInvalid},
		{"board id colon", create(Board{ID: "a:b"}), ErrInvalid},
		{"board id brace", create(Board{ID: "{a}"}), ErrInvalid},
		{"board id space", create(Board{ID: "a b"}), ErrInvalid},
		{"order", create(Board{ID: "x", Order: 2}), ErrInvalid},
		{"operator", create(Board{ID: "x", Operator: -1}), ErrInvalid},
		{"reset garbage", create(Board{ID: "x", Reset: "sometimes"}), ErrInvalid},
		{"reset every", create(Board{ID: "x", Reset: "@every 1h"}), ErrInvalid},
		{"reset time zone", create(Board{ID: "x", Reset: "CRON_TZ=Asia/Tokyo 0 0 * * *"}), ErrInvalid},
		{"reset six fields", create(Board{ID: "x", Reset: "0 0 0 * * *"}), ErrInvalid},
		{"reset never fires", create(Board{ID: "x", Reset: "0 0 31 2 *"}), ErrInvalid},
		{"player empty", submit("desc", "", "", 1, testNow), ErrInvalid},
		{"player too long", submit("desc", strings.Repeat("p", MaxPlayerID+1), "", 1, testNow), ErrInvalid},
		{"player not UTF-8", submit("desc", "p\xff", "", 1, testNow), ErrInvalid},
		{"name too long", submit("desc", "ann", strings.Repeat("n", MaxName+1), 1, testNow), ErrInvalid},
		{"name not UTF-8", submit("desc", "ann", "\xc3", 1, testNow), ErrInvalid},
		{"name with an ANSI escape", submit("desc", "ann", "\x1b[31mred", 1, testNow), ErrInvalid},
		{"name with a newline", submit("desc", "ann", "two\nlines", 1, testNow), ErrInvalid},
		{"name with a bidi override", submit("desc", "ann", "abc\u202Etxt", 1, testNow), ErrInvalid},
		{"name with a zero-width space", submit("desc", "ann", "ad\u200Bmin", 1, testNow), ErrInvalid},
		{"name of 33 characters", submit("desc", "ann", strings.Repeat("猫", 33), 1, testNow), ErrInvalid},
		{"name not trimmed", submit("desc", "ann", " ann", 1, testNow), ErrInvalid},
		{"score too high", submit("desc", "ann", "", MaxScore+1, testNow), ErrInvalid},
		{"score too low", submit("desc", "ann", "", -MaxScore-1, testNow), ErrInvalid},
		{"increment overflow", submit("inc", "big", "", 1, testNow), ErrInvalid},
		{"increment underflow", submit("inc", "small", "", -1, testNow), ErrInvalid},
		{"time before 1970", submit("desc", "ann", "", 1, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)), ErrInvalid},
		{"time after 2261", submit("desc", "ann", "", 1, time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)), ErrInvalid},
		{"limit 0", top("desc", "", "", 0), ErrInvalid},
		{"limit too big", top("desc", "", "", MaxLimit+1), ErrInvalid},
		{"season malformed", top("daily", "yesterday", "", 10), ErrInvalid},
		{"season not a start", top("daily", "20250310T120000Z", "", 10), ErrInvalid},
		{"season all on a resetting board", top("daily", AllSeason, "", 10), ErrInvalid},
		{"season dated on a board without reset", top("desc", "20250310T000000Z", "", 10), ErrInvalid},
		{"cursor not base64", top("desc", "", "!!", 10), ErrBadCursor},
		{"cursor truncated", top("desc", "", cursor[:len(cursor)-2], 10), ErrBadCursor},
		{"cursor tampered", top("desc", "", string(tampered), 10), ErrBadCursor},
		{"cursor of another board", top("daily", "", cursor, 10), ErrBadCursor},
		{"cursor of another season", top("daily", "20250309T000000Z", dailyCursor, 10), ErrBadCursor},
		{"cursor empty base64", top("desc", "", "AA", 10), ErrBadCursor},
		{"n negative", around("desc", "", w0(scores), -1), ErrInvalid},
		{"n too big", around("desc", "", w0(scores), MaxAround+1), ErrInvalid},
		{"around player empty", around("desc", "", "", 1), ErrInvalid},
		{"rank player too long", func() error {
			_, err := e.s.Rank(e.ctx, "desc", "", strings.Repeat("p", MaxPlayerID+1))
			return err
		}, ErrInvalid},
		{"board id in a read", top("../x", "", "", 10), ErrInvalid},
	}
	for _, tt := range tests {
		if err := tt.call(); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := e.s.Board(e.ctx, "x"); !errors.Is(err, ErrUnknownBoard) {
		t.Errorf("a refused board was created: %v", err)
	}
	after := [][]Entry{e.all("desc", "", 1000), e.all("daily", "", 1000), e.all("inc", "", 1000)}
	for i := range before {
		sameEntries(t, after[i], before[i])
	}
}

// testConcurrentSubmits checks operators are atomic: concurrent submits for
// the same players lose nothing.
func testConcurrentSubmits(t *testing.T, e *env) {
	e.create(Board{ID: "inc", Operator: Increment})
	e.create(Board{ID: "best", Order: Ascending})
	const workers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				p := fmt.Sprintf("p%d", i%4)
				if _, err := e.s.Submit(e.ctx, "inc", p, p, int64(w+1), testNow); err != nil {
					errs <- err
					return
				}
				if _, err := e.s.Submit(e.ctx, "best", p, p, int64(1000-w*each-i), testNow); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Each player got 10 submits from each worker: 10 * (1+...+8).
	incs := map[string]int64{"p0": 360, "p1": 360, "p2": 360, "p3": 360}
	bests := map[string]int64{}
	for i := range 4 {
		p := fmt.Sprintf("p%d", i)
		bests[p] = int64(1000 - (workers-1)*each - (each - 4 + i))
	}
	rename := func(order Order, m map[string]int64) []Entry {
		w := want(order, m)
		for i := range w {
			w[i].Name = w[i].Player
		}
		return w
	}
	sameEntries(t, e.all("inc", "", 10), rename(Descending, incs))
	sameEntries(t, e.all("best", "", 10), rename(Ascending, bests))
	e.s.Close()
	e.s = e.reopen()
	sameEntries(t, e.all("inc", "", 10), rename(Descending, incs))
	sameEntries(t, e.all("best", "", 10), rename(Ascending, bests))
}

func testReopen(t *testing.T, e *env) {
	boards := []Board{
		{ID: "desc"},
		{ID: "asc-set-daily", Order: Ascending, Operator: Set, Reset: "@daily"},
		{ID: "inc", Operator: Increment},
	}
	for _, b := range boards {
		e.create(b)
	}
	scores := randomScores(50, 200, 5)
	for _, b := range boards {
		e.fill(b.ID, scores, testNow.Add(-24*time.Hour))
		e.fill(b.ID, scores, testNow)
	}
	snapshot := func() (out [][]Entry) {
		for _, b := range boards {
			seasons, err := e.s.Seasons(e.ctx, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range seasons {
				out = append(out, e.all(b.ID, s.ID, 13))
			}
		}
		return out
	}
	before := snapshot()
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	e.s = e.reopen()
	got, err := e.s.Boards(e.ctx)
	if err != nil || !slices.Equal(got, []Board{boards[1], boards[0], boards[2]}) {
		t.Fatalf("boards after reopen: %v, %v", got, err)
	}
	after := snapshot()
	if len(after) != len(before) {
		t.Fatalf("%d seasons after reopen, want %d", len(after), len(before))
	}
	for i := range before {
		sameEntries(t, after[i], before[i])
		for j := range before[i] {
			if !after[i][j].UpdatedAt.Equal(before[i][j].UpdatedAt) {
				t.Fatalf("updated at changed: %v, %v", after[i][j], before[i][j])
			}
		}
	}
	// Ranks stay right as scores move after reopening.
	first := before[0][0]
	got2 := e.submit("desc", "newcomer", "New", first.Score+1, testNow)
	if got2.Rank != 1 {
		t.Fatalf("newcomer: %+v", got2)
	}
	if r, _ := e.s.Rank(e.ctx, "desc", "", first.Player); r.Rank != 2 {
		t.Fatalf("former leader: %+v", r)
	}
}

func testClosed(t *testing.T, e *env) {
	e.create(Board{ID: "b"})
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := e.s.Submit(e.ctx, "b", "ann", "", 1, testNow); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close: got %v, want ErrClosed", err)
	}
	if _, _, err := e.s.Top(e.ctx, "b", "", "", 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("top after close: got %v, want ErrClosed", err)
	}
}
