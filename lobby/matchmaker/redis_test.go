package matchmaker

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tickwire/tickwire/internal/redistest"
)

// redisClient starts a redis-server for t and returns a client to it.
func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	s := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// newRedisQueue returns a Redis queue on c under a prefix of its own.
func newRedisQueue(t testing.TB, c redis.UniversalClient) *Redis {
	q := NewRedis(c, fmt.Sprintf("test%d:", prefixes.Add(1)))
	t.Cleanup(func() { q.Close() })
	return q
}

var prefixes atomic.Int64

func TestRedis(t *testing.T) {
	c := redisClient(t)
	testQueue(t, func(t *testing.T) Queue { return newRedisQueue(t, c) })
}

func TestRedisRetainsFinishedTickets(t *testing.T) {
	ctx := context.Background()
	c := redisClient(t)
	q := newRedisQueue(t, c)
	q.Retain = 90 * time.Second
	for _, id := range []string{"a", "b"} {
		if err := q.Add(ctx, Ticket{ID: id, Mode: "duel", Members: []Member{{ID: "p-" + id}}}); err != nil {
			t.Fatal(err)
		}
	}
	if ttl := c.PTTL(ctx, q.ticketKey("a")).Val(); ttl != -1 {
		t.Errorf("a queued ticket expires in %v; want no expiry", ttl)
	}
	if err := q.Cancel(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ttl := c.PTTL(ctx, q.ticketKey("a")).Val(); ttl <= 80*time.Second || ttl > 90*time.Second {
		t.Errorf("a cancelled ticket expires in %v; want Retain (90s)", ttl)
	}
	if n := c.Exists(ctx, q.playerKey("p-a")).Val(); n != 0 {
		t.Error("a cancelled ticket still holds its player")
	}
}

// TestRedisWaitAfterClose checks that Wait subscribes rather than polls, and
// that a Wait still returns when no subscription wakes it, by re-reading the
// ticket.
func TestRedisWaitAfterClose(t *testing.T) {
	ctx := context.Background()
	c := redisClient(t)
	q := newRedisQueue(t, c)
	subscribers := func() int64 { return c.PubSubNumSub(ctx, q.leftChannel()).Val()[q.leftChannel()] }
	if err := q.Add(ctx, Ticket{ID: "a", Mode: "duel", Members: []Member{{ID: "p"}}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan State, 1)
	go func() {
		s, _ := q.Wait(ctx, "a", time.Minute)
		done <- s
	}()
	time.Sleep(100 * time.Millisecond)
	if n := subscribers(); n != 1 {
		t.Errorf("%d subscribers while a Wait runs, want 1", n)
	}
	q.Close()
	if err := q.Cancel(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if s := <-done; s.Status != Cancelled {
		t.Errorf("Wait = %v, want cancelled", s.Status)
	}
}
