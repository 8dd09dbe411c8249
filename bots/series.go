package bots

import (
	"math"
	"sync/atomic"
	"time"
)

// histBuckets is the number of Histogram buckets up to histMaxUs.
var histBuckets = histIndex(histMaxUs) + 1

// meter holds the live totals a Runner's bots add to as frames arrive, so
// that the run can be followed second by second without locking any bot.
// Bots only add, atomically; the runner's monitor goroutine reads.
type meter struct {
	connected atomic.Int64 // bots welcomed whose connection has not closed
	playing   atomic.Int64 // of those, bots whose match has not ended
	updates   atomic.Int64 // deltas and snapshots applied, window or not
	wire      atomic.Int64 // bytes read from every bot's TCP connection
	joined    atomic.Int64 // joins completed, added by the runner
	// latency counts tick-to-client latencies by Histogram bucket.
	latency []atomic.Uint64
}

func newMeter() *meter {
	return &meter{latency: make([]atomic.Uint64, histBuckets)}
}

// recordLatency is on every bot's per-frame path: one atomic add.
func (m *meter) recordLatency(d time.Duration) {
	us := min(uint64(max(d.Microseconds(), 0)), histMaxUs)
	m.latency[histIndex(us)].Add(1)
}

// Series is a run second by second, in columns of equal length: entry i
// covers the interval that ended TS[i] seconds after the run started (about
// a second; the last one is what was left). Rates are Updates[i] and Bytes[i]
// divided by the interval's length.
type Series struct {
	// TS is the end of each interval, in seconds since the run started.
	TS []float64 `json:"t_s"`
	// Clients is the number of bots connected at the end of the interval.
	Clients []int `json:"clients"`
	// Updates counts deltas and snapshots applied in the interval and Bytes
	// the bytes read from the bots' TCP connections, measured window or not.
	Updates []int64 `json:"updates"`
	Bytes   []int64 `json:"bytes"`
	// Joins counts the bots whose join completed (Welcome received) in the
	// interval: the join rate second by second during the ramp-up.
	Joins []int64 `json:"joins"`
	// Tick-to-client latency of the updates that arrived in the interval; 0
	// when none did.
	LatencyP50Ms []float64 `json:"latency_p50_ms"`
	LatencyP99Ms []float64 `json:"latency_p99_ms"`
	// WindowStartS and WindowEndS bound the measured window, in seconds
	// since the run started.
	WindowStartS float64 `json:"window_start_s"`
	WindowEndS   float64 `json:"window_end_s"`
}

// Len is the number of intervals.
func (s *Series) Len() int { return len(s.TS) }

// point is one interval of a Series, as the progress display shows it.
type point struct {
	elapsed  time.Duration // since the run started, at the end of the interval
	interval time.Duration
	clients  int
	updates  int64
	bytes    int64
	joins    int64
	p50, p99 time.Duration
}

// perSecond is n events over the point's interval, per second.
func (p point) perSecond(n int64) float64 {
	if p.interval <= 0 {
		return 0
	}
	return float64(n) / p.interval.Seconds()
}

// recorder turns a meter's running totals into a Series: each sample is the
// difference from the previous one. Only the runner's monitor goroutine uses
// it.
type recorder struct {
	m       *meter
	start   time.Time
	series  Series
	last    time.Time
	updates int64
	wire    int64
	joined  int64
	latency []uint64 // bucket counts at the last sample
	diff    []uint32 // scratch for one interval's histogram
}

func newRecorder(m *meter, start time.Time) *recorder {
	return &recorder{m: m, start: start, last: start, latency: make([]uint64, len(m.latency)), diff: make([]uint32, len(m.latency))}
}

// sample appends the interval from the previous sample to now.
func (r *recorder) sample(now time.Time) point {
	p := r.measure(now)
	s := &r.series
	s.TS = append(s.TS, round3(p.elapsed.Seconds()))
	s.Clients = append(s.Clients, p.clients)
	s.Updates = append(s.Updates, p.updates)
	s.Bytes = append(s.Bytes, p.bytes)
	s.Joins = append(s.Joins, p.joins)
	s.LatencyP50Ms = append(s.LatencyP50Ms, round3(ms(p.p50)))
	s.LatencyP99Ms = append(s.LatencyP99Ms, round3(ms(p.p99)))
	return p
}

// measure takes the interval from the previous sample to now off the meter.
func (r *recorder) measure(now time.Time) point {
	p := point{elapsed: now.Sub(r.start), interval: now.Sub(r.last), clients: int(r.m.connected.Load())}
	updates, wire, joined := r.m.updates.Load(), r.m.wire.Load(), r.m.joined.Load()
	p.updates, p.bytes, p.joins = updates-r.updates, wire-r.wire, joined-r.joined
	r.updates, r.wire, r.joined, r.last = updates, wire, joined, now

	top := -1
	for i := range r.m.latency {
		v := r.m.latency[i].Load()
		r.diff[i] = uint32(v - r.latency[i])
		r.latency[i] = v
		if r.diff[i] != 0 {
			top = i
		}
	}
	h := histogramOf(r.diff[:top+1])
	p.p50, p.p99 = h.Quantile(0.50), h.Quantile(0.99)
	return p
}

// round3 keeps three decimals: the series' JSON stays short.
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// finish records the run's last interval, up to now. One shorter than half a
// second is added to the interval before it, so that no rate is taken over a
// sliver of time; the latency shown stays the earlier interval's.
func (r *recorder) finish(now time.Time) point {
	s := &r.series
	last := len(s.TS) - 1
	if last < 0 || now.Sub(r.last) >= time.Second/2 {
		return r.sample(now)
	}
	p := r.measure(now)
	from := 0.0
	if last > 0 {
		from = s.TS[last-1]
	}
	s.TS[last] = round3(p.elapsed.Seconds())
	s.Clients[last] = p.clients
	s.Updates[last] += p.updates
	s.Bytes[last] += p.bytes
	s.Joins[last] += p.joins
	p.interval = p.elapsed - time.Duration(from*float64(time.Second))
	p.updates, p.bytes, p.joins = s.Updates[last], s.Bytes[last], s.Joins[last]
	p.p50 = time.Duration(s.LatencyP50Ms[last] * float64(time.Millisecond))
	p.p99 = time.Duration(s.LatencyP99Ms[last] * float64(time.Millisecond))
	return p
}
