package lobby

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/internal/peer"
)

// Limit is a token bucket: Rate requests a second, in bursts of up to Burst.
// A negative Rate turns the limit off.
type Limit struct {
	Rate  float64
	Burst int
}

// RateLimits bound what one client address (IPv6: one /64) may ask of the
// API, so that a script cannot guess join codes or start rooms by the
// thousand. The address is the TCP peer (r.RemoteAddr; X-Forwarded-For is
// not trusted): behind a proxy on another host every client shares the
// proxy's, so raise the limits there. Loopback peers are exempt unless
// LimitLoopback is set, like the game socket's MaxConnsPerIP; so are
// requests carrying the API key (the trusted backend). A refused request is
// answered 429 rate_limited with Retry-After.
type RateLimits struct {
	// API bounds every /v1 request. Default 20/s, bursts of 40.
	API Limit
	// JoinCode bounds POST /v1/rooms/join-by-code, on top of API: codes
	// are 6 characters of 31 (887 million), so at the default of one guess
	// every 2 s, bursts of 5, one address finds a room among a thousand live
	// ones about once in three weeks.
	JoinCode Limit
	// CreateRoom bounds POST /v1/rooms per caller, on top of API: the
	// verified player when identity is on (see Identity), else the address.
	// Default 0.2/s (12 a minute), bursts of 5.
	CreateRoom Limit
	// LimitLoopback limits loopback peers too (for tests).
	LimitLoopback bool
	// MaxKeys bounds each limit's table of addresses (or players). A full
	// table first forgets the keys whose bucket has refilled, which are no
	// different from new ones, then arbitrary keys. Default 65536, a few
	// MiB at most.
	MaxKeys int
}

// DefaultRateLimits are the limits a zero RateLimits takes.
func DefaultRateLimits() RateLimits {
	return RateLimits{
		API:        Limit{Rate: 20, Burst: 40},
		JoinCode:   Limit{Rate: 0.5, Burst: 5},
		CreateRoom: Limit{Rate: 0.2, Burst: 5},
		MaxKeys:    65536,
	}
}

func (r *RateLimits) fill() error {
	def := DefaultRateLimits()
	for _, l := range []struct {
		name     string
		lim, def *Limit
	}{{"api", &r.API, &def.API}, {"join-code", &r.JoinCode, &def.JoinCode}, {"room-create", &r.CreateRoom, &def.CreateRoom}} {
		if l.lim.Rate == 0 {
			l.lim.Rate = l.def.Rate
		}
		if l.lim.Burst <= 0 {
			l.lim.Burst = l.def.Burst
		}
		if math.IsNaN(l.lim.Rate) || math.IsInf(l.lim.Rate, 0) || l.lim.Rate > 1e6 || (l.lim.Rate > 0 && l.lim.Rate < 1e-4) {
			return fmt.Errorf("%s rate %v: want 0.0001 to 1000000 a second, or negative for no limit", l.name, l.lim.Rate)
		}
		if l.lim.Burst > 1e6 {
			return fmt.Errorf("%s burst %d: want 1 to 1000000", l.name, l.lim.Burst)
		}
	}
	if r.MaxKeys <= 0 {
		r.MaxKeys = def.MaxKeys
	}
	return nil
}

// bucketTable is one Limit's token buckets by key, each kept as its
// "theoretical arrival time" (the GCRA form of a token bucket): the time at
// which the bucket will be full again.
type bucketTable struct {
	interval  time.Duration // one token's refill time; 0: no limit
	tolerance time.Duration // (Burst-1) intervals: how far tat may run ahead
	max       int

	// mu guards tat.
	mu  sync.Mutex
	tat map[string]time.Time

	refused, evicted atomic.Uint64
}

func newBucketTable(l Limit, maxKeys int) *bucketTable {
	t := &bucketTable{max: maxKeys, tat: map[string]time.Time{}}
	if l.Rate > 0 {
		t.interval = max(time.Duration(float64(time.Second)/l.Rate), 1)
		t.tolerance = time.Duration(l.Burst-1) * t.interval
	}
	return t
}

// take charges one request of key at now. It reports whether the request
// may go on and, when not, how long until it could.
func (t *bucketTable) take(key string, now time.Time) (bool, time.Duration) {
	if t.interval == 0 {
		return true, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tat, ok := t.tat[key]
	if !ok {
		t.makeRoom(now)
	}
	if tat.Before(now) {
		tat = now
	}
	if wait := tat.Sub(now) - t.tolerance; wait > 0 {
		t.refused.Add(1)
		return false, wait
	}
	t.tat[key] = tat.Add(t.interval)
	return true, 0
}

// makeRoom keeps the table under max before a key is added: it forgets the
// keys whose buckets are full again and, if that is not enough, an eighth of
// the table, chosen by map order (arbitrary): an attacker cycling through
// addresses can at worst refill other addresses' buckets early.
func (t *bucketTable) makeRoom(now time.Time) {
	if len(t.tat) < t.max {
		return
	}
	for k, tat := range t.tat {
		if !tat.After(now) {
			delete(t.tat, k)
		}
	}
	for k := range t.tat {
		if len(t.tat) < t.max-t.max/8 {
			break
		}
		delete(t.tat, k)
		t.evicted.Add(1)
	}
}

func (t *bucketTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.tat)
}

// limiters are the lobby's three rate limits.
type limiters struct {
	cfg                    RateLimits
	api, joinCode, newRoom *bucketTable
}

func newLimiters(c RateLimits) *limiters {
	return &limiters{
		cfg: c, api: newBucketTable(c.API, c.MaxKeys),
		joinCode: newBucketTable(c.JoinCode, c.MaxKeys), newRoom: newBucketTable(c.CreateRoom, c.MaxKeys),
	}
}

// clientKey is the key r's address counts under, or false when it is not
// limited (see peer.Key: IPv6 by /64, loopback only when asked).
func clientKey(remoteAddr string, loopback bool) (string, bool) {
	a, ok := peer.Key(remoteAddr, loopback)
	if !ok {
		return "", false
	}
	return a.String(), true
}

// exempt reports whether r is not rate limited: it carries the API key, or
// comes from an address that is not limited.
func (l *Lobby) exempt(r *http.Request) (string, bool) {
	if l.backend(r) {
		return "", true
	}
	key, limited := clientKey(r.RemoteAddr, l.limits.cfg.LimitLoopback)
	return key, !limited
}

// limit charges r to t under key; a refusal is an apiError for 429.
func (l *Lobby) limit(t *bucketTable, key, what string) error {
	ok, wait := t.take(key, l.now())
	if ok {
		return nil
	}
	secs := max(int64(math.Ceil(wait.Seconds())), 1)
	e := errf(http.StatusTooManyRequests, "rate_limited", "too many %s from your address; retry in %d s", what, secs)
	e.retryAfter = strconv.FormatInt(secs, 10)
	return e
}

// rateLimited wraps the API's handler with the per-address limit of every
// request.
func (l *Lobby) rateLimited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if key, exempt := l.exempt(r); !exempt {
			if err := l.limit(l.limits.api, key, "requests"); err != nil {
				writeError(w, err.(*apiError))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// limitJoinCode charges a join-by-code guess to its address.
func (l *Lobby) limitJoinCode(r *http.Request) error {
	key, exempt := l.exempt(r)
	if exempt {
		return nil
	}
	return l.limit(l.limits.joinCode, key, "join-code attempts")
}

// limitNewRoom charges a room creation to its caller: the verified player
// if there is one, else the address.
func (l *Lobby) limitNewRoom(r *http.Request, player string) error {
	key, exempt := l.exempt(r)
	if exempt {
		return nil
	}
	if player != "" {
		key = "player:" + player
	}
	return l.limit(l.limits.newRoom, key, "rooms created")
}
