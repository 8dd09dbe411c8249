package netcode

import (
	"net/netip"
	"sync"
	"time"
)

// rateLimiter is one connection's budget of client frames: a token bucket of
// Config.ClientBurst frames refilled at Config.ClientRate per second, kept as
// a single "theoretical arrival time" (the GCRA form of a token bucket), so a
// check is a few integer operations. It also counts the frames it drops within
// Config.FloodWindow to tell a client that bursts now and then from one that
// floods. It is owned by the connection's read goroutine.
//
// A frame over the rate is dropped, and the connection is not read again
// until its next token is due (see pause): TCP flow control then holds the
// rest of a flood in the client's own buffers, so a flooder costs the server
// a few reads per token instead of a core.
type rateLimiter struct {
	interval  time.Duration // time one frame's token takes to refill; 0: no limit
	tolerance time.Duration // how far tat may run ahead of now: (burst-1) intervals
	tat       time.Duration // when the bucket will be full again, since the session opened

	floodDrops  int // drops within floodWindow that end the connection; <0: never
	floodWindow time.Duration
	windowStart time.Duration
	drops       int
}

// verdict is what rateLimiter.check decides for one frame.
type verdict uint8

const (
	frameAllowed verdict = iota
	frameDropped         // over the rate: ignore the frame
	frameFlood           // over the rate for too long: close the connection
)

func newRateLimiter(c *Config) rateLimiter {
	if c.ClientRate < 0 {
		return rateLimiter{}
	}
	interval := time.Duration(float64(time.Second) / c.ClientRate)
	return rateLimiter{
		interval:    max(interval, 1),
		tolerance:   time.Duration(c.ClientBurst-1) * max(interval, 1),
		floodDrops:  c.FloodDrops,
		floodWindow: c.FloodWindow,
	}
}

// check charges one frame arriving at now (time since the session opened; it
// never goes back). Hot path: every frame a client sends; it allocates nothing.
func (l *rateLimiter) check(now time.Duration) verdict {
	if l.interval == 0 {
		return frameAllowed
	}
	tat := max(l.tat, now)
	if tat-now <= l.tolerance {
		l.tat = tat + l.interval
		return frameAllowed
	}
	if now-l.windowStart > l.floodWindow {
		l.windowStart, l.drops = now, 0
	}
	l.drops++
	if l.floodDrops >= 0 && l.drops > l.floodDrops {
		return frameFlood
	}
	return frameDropped
}

// maxPause bounds one pause of a connection's reads.
const maxPause = time.Second

// pause is how long not to read a connection whose frame check dropped at
// now: until its next token, at most maxPause.
func (l *rateLimiter) pause(now time.Duration) time.Duration {
	return min(max(l.tat-l.tolerance-now, 0), maxPause)
}

// ipLimiter counts open connections per client address so that one host
// cannot take every connection. IPv4 addresses count one by one; IPv6
// addresses count by /64, the block one subscriber usually holds.
type ipLimiter struct {
	max int // <= 0: no limit

	// mu guards conns.
	mu    sync.Mutex
	conns map[netip.Addr]int
}

// acquire takes a connection slot for key; it reports false when key has max
// connections already.
func (l *ipLimiter) acquire(key netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.conns[key] >= l.max {
		return false
	}
	l.conns[key]++
	return true
}

// release gives back a slot taken by acquire.
func (l *ipLimiter) release(key netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.conns[key]; n > 1 {
		l.conns[key] = n - 1
	} else {
		delete(l.conns, key)
	}
}
