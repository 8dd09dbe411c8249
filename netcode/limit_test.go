package netcode

import (
	"net/netip"
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	cfg := Config{ClientRate: 10, ClientBurst: 5, FloodDrops: 3, FloodWindow: time.Second}.withDefaults()
	l := newRateLimiter(&cfg)
	// A burst of 5 at once is taken, the 6th is not.
	for i := range 5 {
		if v := l.check(0); v != frameAllowed {
			t.Fatalf("frame %d of a burst of 5: %v", i+1, v)
		}
	}
	if v := l.check(0); v != frameDropped {
		t.Fatalf("6th frame of the burst: %v, want dropped", v)
	}
	// The reads pause until the next token, 100ms on; then it is taken.
	if p := l.pause(0); p != 100*time.Millisecond {
		t.Fatalf("pause after a drop: %v, want 100ms", p)
	}
	if v := l.check(100 * time.Millisecond); v != frameAllowed {
		t.Fatalf("after one refill interval: %v", v)
	}
	// Three drops are tolerated within the window, the fourth closes.
	for i, want := range []verdict{frameDropped, frameDropped, frameFlood} {
		if v := l.check(100 * time.Millisecond); v != want {
			t.Fatalf("drop %d in the window: %v, want %v", i+2, v, want)
		}
	}
	// A client that sends at exactly its rate for a long time is never dropped.
	cfg = Config{ClientRate: 60, ClientBurst: 1}.withDefaults()
	l = newRateLimiter(&cfg)
	step := time.Second / 60
	for i := range 60 * 600 {
		if v := l.check(time.Duration(i) * step); v != frameAllowed {
			t.Fatalf("frame %d at exactly the rate: %v", i, v)
		}
	}
	// Drops spread out over more than a window never add up to a flood.
	cfg = Config{ClientRate: 1, ClientBurst: 1, FloodDrops: 1, FloodWindow: time.Second}.withDefaults()
	l = newRateLimiter(&cfg)
	drops := 0
	for i := range 100 {
		now := time.Duration(i) * 600 * time.Millisecond // every other one is over the rate
		switch l.check(now) {
		case frameFlood:
			t.Fatalf("one drop per 1.2s with 1 per second tolerated: flood at %v", now)
		case frameDropped:
			drops++
		}
	}
	if drops != 50 {
		t.Fatalf("%d of 100 frames at 1/0.6s dropped at a rate of 1/s; want 50", drops)
	}
	// A negative rate is no limit; a negative FloodDrops never closes.
	cfg = Config{ClientRate: -1}.withDefaults()
	l = newRateLimiter(&cfg)
	for range 10000 {
		if v := l.check(0); v != frameAllowed {
			t.Fatalf("no limit: %v", v)
		}
	}
	cfg = Config{ClientBurst: 1, FloodDrops: -1}.withDefaults()
	l = newRateLimiter(&cfg)
	for range 10000 {
		if v := l.check(0); v == frameFlood {
			t.Fatal("FloodDrops < 0 closed a flooder")
		}
	}
}

func (v verdict) String() string {
	return [...]string{"allowed", "dropped", "flood"}[v]
}

func BenchmarkRateLimiter(b *testing.B) {
	cfg := Config{}.withDefaults()
	l := newRateLimiter(&cfg)
	now := time.Duration(0)
	b.ReportAllocs()
	for b.Loop() {
		now += 20 * time.Millisecond // 50 frames/s: under the default 60
		if l.check(now) != frameAllowed {
			b.Fatal("frame under the rate dropped")
		}
	}
}

func TestIPLimiter(t *testing.T) {
	l := ipLimiter{max: 2, conns: map[netip.Addr]int{}}
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	for i, want := range []bool{true, true, false} {
		if got := l.acquire(a); got != want {
			t.Fatalf("acquire %d with a limit of 2: %v", i+1, got)
		}
	}
	if !l.acquire(b) {
		t.Fatal("another address shares the limit")
	}
	l.release(a)
	if !l.acquire(a) {
		t.Fatal("a released slot is not reusable")
	}
	l.release(a)
	l.release(a)
	l.release(b)
	if len(l.conns) != 0 {
		t.Fatalf("counts left after every release: %v", l.conns)
	}
}

// BenchmarkAdmit is what every client frame costs before it is decoded: the
// read time, the counter and the rate check, on the path a frame within its
// rate takes.
func BenchmarkAdmit(b *testing.B) {
	sess := loopbackSessions(b, testEnv(Config{ClientRate: 1e6, ClientBurst: 1e6}), 1, false)[0]
	b.ReportAllocs()
	for b.Loop() {
		if !sess.admit() {
			b.Fatal("frame dropped")
		}
	}
}
