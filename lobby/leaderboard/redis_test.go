package leaderboard

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tickwire/tickwire/internal/redistest"
)

func newRedisClient(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// redisBackend gives each test its own prefix on one server; reopening
// is a new client and store on the same prefix.
func redisBackend(srv *redistest.Server) backend {
	var tests atomic.Int64
	return func(t *testing.T) func() Store {
		prefix := fmt.Sprintf("{t%d}:", tests.Add(1))
		return func() Store {
			s := NewRedis(newRedisClient(t, srv.Addr), prefix)
			t.Cleanup(func() { _ = s.Close() })
			return s
		}
	}
}

func TestRedisStore(t *testing.T) {
	testStore(t, redisBackend(redistest.Start(t)))
}

// TestRedisKeys checks every key is under the prefix and a deleted board
// leaves none behind.
func TestRedisKeys(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	c := newRedisClient(t, srv.Addr)
	s := NewRedis(c, "")
	for _, b := range []Board{{ID: "a", Reset: "@daily"}, {ID: "b", Operator: Increment}} {
		if err := s.CreateBoard(ctx, b); err != nil {
			t.Fatal(err)
		}
		for d := range 3 {
			if _, err := s.Submit(ctx, b.ID, "ann", "Ann", 1, testNow.AddDate(0, 0, -d)); err != nil {
				t.Fatal(err)
			}
		}
	}
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 11 { // boards, 2 seasons sets, 3+1 score sets and as many name hashes
		t.Errorf("%d keys, want 11: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, DefaultRedisPrefix) {
			t.Errorf("key %q is not under %q", k, DefaultRedisPrefix)
		}
	}
	for _, id := range []string{"a", "b"} {
		if err := s.DeleteBoard(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if keys, _ := c.Keys(ctx, "*").Result(); len(keys) != 0 {
		t.Errorf("keys left after deleting every board: %v", keys)
	}
}

// TestRedisSharedBoards has two servers' stores share boards: a board
// deleted and re-created through one is seen through the other.
func TestRedisSharedBoards(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	one := NewRedis(newRedisClient(t, srv.Addr), "")
	two := NewRedis(newRedisClient(t, srv.Addr), "")
	if err := one.CreateBoard(ctx, Board{ID: "arena"}); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Submit(ctx, "arena", "ann", "", 10, testNow); err != nil {
		t.Fatal(err)
	}
	if _, err := one.Submit(ctx, "arena", "ann", "", 5, testNow); err != nil {
		t.Fatal(err)
	}
	if err := one.DeleteBoard(ctx, "arena"); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Rank(ctx, "arena", "", "ann"); !errors.Is(err, ErrUnknownBoard) {
		t.Fatalf("rank on a board deleted elsewhere: got %v, want ErrUnknownBoard", err)
	}
	if err := one.CreateBoard(ctx, Board{ID: "arena", Operator: Increment}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*RedisStore{two, one, two} {
		if _, err := s.Submit(ctx, "arena", "ann", "", 5, testNow); err != nil {
			t.Fatal(err)
		}
	}
	e, err := two.Rank(ctx, "arena", "", "ann")
	if err != nil || e.Score != 15 {
		t.Fatalf("after re-create as increment: %+v, %v", e, err)
	}
	if b, err := two.Board(ctx, "arena"); err != nil || b.Operator != Increment {
		t.Fatalf("board: %+v, %v", b, err)
	}
}

// TestRedisRestart checks a store follows a server that lost its data.
func TestRedisRestart(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := NewRedis(newRedisClient(t, srv.Addr), "")
	if err := s.CreateBoard(ctx, Board{ID: "arena"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(ctx, "arena", "ann", "", 10, testNow); err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)
	if _, err := s.Submit(ctx, "arena", "ann", "", 10, testNow); !errors.Is(err, ErrUnknownBoard) {
		t.Fatalf("submit after the server lost the board: got %v, want ErrUnknownBoard", err)
	}
	if err := s.CreateBoard(ctx, Board{ID: "arena"}); err != nil {
		t.Fatal(err)
	}
	if e, err := s.Submit(ctx, "arena", "ann", "", 7, testNow); err != nil || e.Score != 7 || e.Rank != 1 {
		t.Fatalf("submit to the re-created board: %+v, %v", e, err)
	}
}

// benchRedis returns a store whose Descending Best board "bench" holds n
// entries, written with pipelined multi-member ZADDs.
func benchRedis(b *testing.B, n int) *RedisStore {
	ctx := context.Background()
	srv := redistest.Start(b)
	// Enough connections that the server, not the pool, is the limit.
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 64})
	b.Cleanup(func() { _ = c.Close() })
	s := NewRedis(c, "")
	board := Board{ID: "bench"}
	if err := s.CreateBoard(ctx, board); err != nil {
		b.Fatal(err)
	}
	info, _ := newBoardInfo(board, time.Now())
	began := time.Now()
	r := rand.New(rand.NewPCG(1, 1))
	names := strconv.FormatInt(time.Now().UnixNano(), 10) + "|name "
	const chunk = 1000
	pipe := c.Pipeline()
	for i := 0; i < n; i += chunk {
		members := make([]redis.Z, 0, chunk)
		fields := make([]any, 0, 2*chunk)
		for j := i; j < min(i+chunk, n); j++ {
			p := benchPlayer(j)
			members = append(members, redis.Z{Score: float64(info.sortKey(r.Int64N(1_000_000))), Member: p})
			fields = append(fields, p, names+p)
		}
		pipe.ZAdd(ctx, s.scoresKey(board.ID, AllSeason), members...)
		pipe.HSet(ctx, s.namesKey(board.ID, AllSeason), fields...)
		if pipe.Len() >= 50 || i+chunk >= n {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := c.ZAdd(ctx, s.seasonsKey(board.ID), redis.Z{Member: AllSeason}).Err(); err != nil {
		b.Fatal(err)
	}
	b.Logf("filled %d entries in %v", n, time.Since(began).Round(time.Millisecond))
	return s
}

// BenchmarkRedisSubmit submits from many goroutines to random players of a
// 1M-entry board (one in eleven new).
func BenchmarkRedisSubmit(b *testing.B) {
	s := benchRedis(b, benchEntries)
	b.Run("entries=1M", func(b *testing.B) {
		ctx := context.Background()
		var seed atomic.Uint64
		b.ReportAllocs()
		b.SetParallelism(32)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(seed.Add(1), 2))
			for pb.Next() {
				p := benchPlayer(r.IntN(benchEntries * 11 / 10))
				if _, err := s.Submit(ctx, "bench", p, "name", r.Int64N(1_000_000), time.Time{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submits/s")
	})
}

// BenchmarkRedisRank looks up random players of a 1M-entry board.
func BenchmarkRedisRank(b *testing.B) {
	s := benchRedis(b, benchEntries)
	b.Run("entries=1M", func(b *testing.B) {
		ctx := context.Background()
		var seed atomic.Uint64
		b.ReportAllocs()
		b.SetParallelism(32)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(seed.Add(1), 3))
			for pb.Next() {
				if _, err := s.Rank(ctx, "bench", "", benchPlayer(r.IntN(benchEntries))); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ranks/s")
	})
}
