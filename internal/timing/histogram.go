package timing

import (
	"slices"
	"sync/atomic"
	"time"
)

// Histogram counts durations in fixed buckets, lock-free: Observe is a few
// atomic adds and allocates nothing, so a room's tick can afford it, and a
// reader may take a Snapshot from any goroutine at any time. The zero value
// has no buckets (everything lands in +Inf); make one with NewHistogram.
type Histogram struct {
	bounds []time.Duration // upper bounds, ascending; read-only
	counts []atomic.Uint64 // counts[i]: observations <= bounds[i] and > bounds[i-1]; the last is +Inf
	sum    atomic.Int64    // nanoseconds
}

// NewHistogram returns a histogram with the given ascending upper bounds; an
// overflow bucket (+Inf) follows the last.
func NewHistogram(bounds ...time.Duration) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// TickBuckets are the bucket bounds of a room's tick-duration histogram: from
// well under a millisecond (a light room) to past a 20 Hz tick's 50 ms.
var TickBuckets = []time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	time.Second,
}

// Observe counts d. Hot path: once per room per tick.
func (h *Histogram) Observe(d time.Duration) {
	if h == nil || h.counts == nil {
		return
	}
	i := 0
	for i < len(h.bounds) && d > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// Snapshot is a histogram's counts at one moment.
type Snapshot struct {
	// Bounds are the buckets' upper bounds; Counts has one more entry, the
	// +Inf bucket. Counts are per bucket, not cumulative.
	Bounds []time.Duration
	Counts []uint64
	Sum    time.Duration
}

// Snapshot copies the counts.
func (h *Histogram) Snapshot() Snapshot {
	if h == nil {
		return Snapshot{}
	}
	s := Snapshot{Bounds: h.bounds, Counts: make([]uint64, len(h.counts)), Sum: time.Duration(h.sum.Load())}
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
	}
	return s
}

// Count is the number of observations.
func (s Snapshot) Count() uint64 {
	var n uint64
	for _, c := range s.Counts {
		n += c
	}
	return n
}

// Add adds o's counts to s. Snapshots with other bounds are added only if s is
// empty (it takes o's bounds); otherwise Add reports false and changes nothing.
func (s *Snapshot) Add(o Snapshot) bool {
	if s.Counts == nil {
		s.Bounds, s.Counts, s.Sum = o.Bounds, append([]uint64(nil), o.Counts...), o.Sum
		return true
	}
	if len(o.Counts) != len(s.Counts) || !slices.Equal(s.Bounds, o.Bounds) {
		return false
	}
	for i, c := range o.Counts {
		s.Counts[i] += c
	}
	s.Sum += o.Sum
	return true
}
