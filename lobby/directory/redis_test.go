package directory

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tickwire/tickwire/internal/redistest"
)

// startRedis starts a redis-server and returns a client of it.
func startRedis(tb testing.TB) *redis.Client {
	tb.Helper()
	s := redistest.Start(tb)
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedis(t *testing.T) {
	c := startRedis(t)
	n := 0
	testDirectory(t, func(t *testing.T) *env {
		n++ // each test gets its own keys
		clk := newClock()
		d := NewRedis(c, fmt.Sprintf("t%d:", n), grace)
		d.Now = clk.Now
		return &env{dir: d, clock: clk, pass: func(d time.Duration) {
			clk.Advance(d)
			time.Sleep(d)
		}}
	})
}

func keys(t *testing.T, c *redis.Client, prefix string) []string {
	t.Helper()
	ks, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ks)
	return ks
}

// TestRedisKeys pins the key layout, and that removing rooms leaves no keys
// behind.
func TestRedisKeys(t *testing.T) {
	c := startRedis(t)
	d := NewRedis(c, "", 0)
	r := room("r1", "duel")
	r.Matchmade = true
	mustCreate(t, d, r, long)
	p := room("p1", "arena")
	p.Private, p.Code = true, "abcd"
	mustCreate(t, d, p, long)
	if err := d.Heartbeat(ctx, Node{ID: "n1"}, long); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"tickwire:{dir}:code:ABCD",
		"tickwire:{dir}:idx:all",
		"tickwire:{dir}:idx:mm:1",
		"tickwire:{dir}:idx:mm:1:mode:duel",
		"tickwire:{dir}:idx:mode:duel",
		"tickwire:{dir}:node:n1",
		"tickwire:{dir}:nodes",
		"tickwire:{dir}:room:p1",
		"tickwire:{dir}:room:r1",
	}
	if got := keys(t, c, "tickwire:"); !slices.Equal(got, want) {
		t.Fatalf("keys:\n got %q\nwant %q", got, want)
	}
	for _, id := range []string{"r1", "p1"} {
		if err := d.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if got := keys(t, c, "tickwire:{dir}:"); !slices.Equal(got, want[5:7]) {
		t.Fatalf("keys after deleting the rooms: %q", got)
	}
}

// TestRedisPrune: List removes the index entries of expired rooms it meets,
// from every index that holds them.
func TestRedisPrune(t *testing.T) {
	c := startRedis(t)
	d := NewRedis(c, "", 0)
	for i := range 20 {
		mustCreate(t, d, room(fmt.Sprintf("old%02d", i), "old"), short)
	}
	mustCreate(t, d, room("live", "new"), long)
	time.Sleep(short + 50*time.Millisecond)
	if ids := listAll(t, d, Filter{Mode: "old"}, 5); len(ids) != 0 {
		t.Fatalf("expired rooms listed: %v", ids)
	}
	if got := keys(t, c, "tickwire:{dir}:idx:"); !slices.Equal(got, []string{"tickwire:{dir}:idx:all", "tickwire:{dir}:idx:mm:0", "tickwire:{dir}:idx:mm:0:mode:new", "tickwire:{dir}:idx:mode:new"}) {
		t.Fatalf("index keys after pruning: %q", got)
	}
	if n := c.ZCard(ctx, "tickwire:{dir}:idx:all").Val(); n != 1 {
		t.Fatalf("idx:all holds %d entries, want 1", n)
	}
}

// TestRedisSweep: creating rooms sweeps expired entries out of the indexes
// even when nobody lists them.
func TestRedisSweep(t *testing.T) {
	c := startRedis(t)
	old := NewRedis(c, "", 0)
	for i := range 20 {
		mustCreate(t, old, room(fmt.Sprintf("old%02d", i), "old"), short)
	}
	time.Sleep(short + 50*time.Millisecond)
	d := NewRedis(c, "", 0)
	for i := range sweepCreates {
		mustCreate(t, d, room(fmt.Sprintf("new%02d", i), "new"), long)
	}
	if n := c.Exists(ctx, "tickwire:{dir}:idx:mode:old").Val(); n != 0 {
		t.Fatal("the sweep left the expired rooms' index")
	}
	if n := c.ZCard(ctx, "tickwire:{dir}:idx:all").Val(); n != sweepCreates {
		t.Fatalf("idx:all holds %d entries, want %d", n, sweepCreates)
	}
}

// TestRedisScriptsLost: the directory keeps working after Redis forgets its
// scripts, in pipelines too.
func TestRedisScriptsLost(t *testing.T) {
	c := startRedis(t)
	d := NewRedis(c, "", 0)
	mustCreate(t, d, room("r1", "duel"), short)
	mustCreate(t, d, room("r2", "duel"), long)
	time.Sleep(short + 50*time.Millisecond) // r1's index entry now dangles
	steps := []struct {
		name string
		run  func() error
	}{
		{"list and prune", func() error { _, _, err := d.List(ctx, Filter{}, "", 10); return err }},
		{"report", func() error {
			return d.ReportRooms(ctx, "n1", []RoomReport{{ID: "r2", Players: 1, Joined: 1, State: Waiting}}, long)
		}},
		{"assign", func() error { return d.Assign(ctx, "r2", players(1), time.Now()) }},
		{"create", func() error { return d.Create(ctx, room("r3", "duel"), long) }},
		{"delete", func() error { return d.Delete(ctx, "r3") }},
	}
	for _, s := range steps {
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.run(); err != nil {
			t.Fatalf("%s after SCRIPT FLUSH: %v", s.name, err)
		}
	}
	if r := mustRoom(t, d, "r2"); r.Players != 1 || r.Pending(time.Now(), DefaultGrace) != 1 {
		t.Fatalf("room: %+v", r)
	}
	if n := c.ZCard(ctx, "tickwire:{dir}:idx:all").Val(); n != 1 {
		t.Fatalf("idx:all holds %d entries, want 1", n)
	}
}

// TestRedisProcesses: directories on separate connections, as in separate
// processes, share rooms, and their concurrent assigners never overfill one.
func TestRedisProcesses(t *testing.T) {
	c := startRedis(t)
	other := redis.NewClient(&redis.Options{Addr: c.Options().Addr})
	t.Cleanup(func() { _ = other.Close() })
	a, b := NewRedis(c, "x:", 0), NewRedis(other, "x:", 0)
	r := room("r1", "arena")
	r.Capacity, r.Private, r.Code = 10, true, "SHARED"
	mustCreate(t, a, r, long)
	if got, err := b.RoomByCode(ctx, "shared"); err != nil || got.ID != "r1" {
		t.Fatalf("the other process by code: %+v, %v", got, err)
	}
	mustCreate(t, b, room("r2", "arena"), long)
	if ids := listAll(t, a, Filter{}, 10); !slices.Equal(ids, []string{"r2"}) {
		t.Fatalf("the other process's room: listed %v", ids)
	}
	q := room("r3", "arena")
	q.Private, q.Code = true, "SHARED"
	wantErr(t, "code taken in the other process", b.Create(ctx, q, long), ErrCodeTaken)

	var wg sync.WaitGroup
	var got atomic.Int64
	for i := range 40 {
		d := []*Redis{a, b}[i%2]
		wg.Go(func() {
			if err := d.Assign(ctx, "r1", players(1), time.Now()); err == nil {
				got.Add(1)
			}
		})
	}
	wg.Wait()
	if got.Load() != 10 || mustRoom(t, b, "r1").Assigned != 10 {
		t.Fatalf("10 seats: %d assigned", got.Load())
	}
}

// BenchmarkList lists the first page of rooms with free seats in one mode of
// ten, among 10,000 rooms of which every third is full.
func BenchmarkList(b *testing.B) {
	fill := func(b *testing.B, d Directory) {
		b.Helper()
		base := time.Now().Add(-time.Hour)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < 10000; i += 8 {
					r := room(fmt.Sprintf("room-%05d", i), fmt.Sprintf("mode%d", i%10))
					r.Capacity, r.CreatedAt = 8, base.Add(time.Duration(i)*time.Millisecond)
					if i%3 == 0 {
						r.Players = 8
					}
					if err := d.Create(ctx, r, long); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	run := func(d Directory, limit int) func(b *testing.B) {
		return func(b *testing.B) {
			f := Filter{Mode: "mode3", HasSpace: true}
			b.ReportAllocs()
			for b.Loop() {
				rooms, _, err := d.List(ctx, f, "", limit)
				if err != nil || len(rooms) != limit {
					b.Fatalf("%d rooms, %v", len(rooms), err)
				}
			}
		}
	}
	rd := NewRedis(startRedis(b), "", 0)
	fill(b, rd)
	b.Run("redis/limit=20", run(rd, 20))
	b.Run("redis/limit=100", run(rd, 100))
	md := NewMemory(0)
	fill(b, md)
	b.Run("memory/limit=20", run(md, 20))
}

// TestRedisSeatsKey: the hash of a room's seats expires a grace after the
// last assign, and forgiven seats are pruned once it grows past twice the
// room's capacity, so players passing through a long-lived room do not grow
// it without bound.
func TestRedisSeatsKey(t *testing.T) {
	c := startRedis(t)
	clk := newClock()
	d := NewRedis(c, "", grace)
	d.Now = clk.Now
	mustCreate(t, d, room("r1", "duel"), long) // capacity 4
	key := "tickwire:{dir}:seats:r1"
	for round := range 5 {
		if err := d.Assign(ctx, "r1", players(4), clk.Now()); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if ttl := c.PTTL(ctx, key).Val(); ttl <= 0 || ttl > grace {
			t.Fatalf("round %d: seats key expires in %v, want within the grace (%v)", round, ttl, grace)
		}
		if n := c.HLen(ctx, key).Val(); n > 2*4+4 {
			t.Fatalf("round %d: the seats hash holds %d players, want at most %d", round, n, 2*4+4)
		}
		clk.Advance(grace) // every seat so far is forgiven
	}
}
