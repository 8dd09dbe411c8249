package bots

import (
	"math"
	"math/bits"
	"time"
)

// Histogram buckets (log-linear): values are microseconds; below 64 µs every
// microsecond has its own bucket, above that every power of two is split into
// 32 buckets, so a bucket is at most 1/32 (about 3%) of its value wide.
const (
	histSubBits = 5
	histLinear  = 2 << histSubBits // values below this have exact buckets
	histMaxUs   = 1<<36 - 1        // about 19 hours; larger values are clamped
)

// Histogram records durations compactly, for percentiles over many samples:
// thousands of bots each recording a sample per tick for minutes must fit in
// memory. Resolution is 1 µs below 64 µs and within 3.2% above; durations
// below zero count as zero and above 19 hours as 19 hours.
//
// The zero value is an empty histogram. It grows only as far as the largest
// value recorded: about 2 KiB when every sample is under a second. A Histogram
// is not safe for concurrent use.
type Histogram struct {
	counts []uint32
	n      uint64
	sumUs  uint64
	maxUs  uint64
}

func histIndex(us uint64) int {
	e := max(bits.Len64(us)-histSubBits-1, 0)
	return e<<histSubBits + int(us>>e)
}

// histLower returns the smallest value in bucket i and the bucket's width.
func histLower(i int) (lower, width uint64) {
	if i < histLinear {
		return uint64(i), 1
	}
	e := i>>histSubBits - 1
	mant := uint64(i - e<<histSubBits)
	return mant << e, 1 << e
}

// Record adds one sample.
func (h *Histogram) Record(d time.Duration) {
	us := uint64(max(d.Microseconds(), 0))
	us = min(us, histMaxUs)
	i := histIndex(us)
	if i >= len(h.counts) {
		h.counts = append(h.counts, make([]uint32, i+1-len(h.counts))...)
	}
	h.counts[i]++
	h.n++
	h.sumUs += us
	h.maxUs = max(h.maxUs, us)
}

// Count is the number of samples recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest sample recorded.
func (h *Histogram) Max() time.Duration { return time.Duration(h.maxUs) * time.Microsecond }

// Mean is the mean of the samples, or 0 without samples.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sumUs/h.n) * time.Microsecond
}

// Quantile returns the q-quantile (0 < q <= 1) of the samples: the middle of
// the bucket holding the ceil(q*n)-th smallest sample, capped at Max. It is 0
// without samples.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			lower, width := histLower(i)
			mid := min(lower+(width-1)/2, h.maxUs)
			return time.Duration(mid) * time.Microsecond
		}
	}
	return h.Max()
}

// Merge adds every sample of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if len(o.counts) > len(h.counts) {
		h.counts = append(h.counts, make([]uint32, len(o.counts)-len(h.counts))...)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sumUs += o.sumUs
	h.maxUs = max(h.maxUs, o.maxUs)
}

// Clone returns an independent copy of h.
func (h *Histogram) Clone() Histogram {
	c := *h
	c.counts = append([]uint32(nil), h.counts...)
	return c
}

// histogramOf returns a Histogram of the given bucket counts, sharing them:
// its Max is the top of the highest non-empty bucket and its Mean is taken
// from bucket midpoints.
func histogramOf(counts []uint32) Histogram {
	h := Histogram{counts: counts}
	for i, c := range counts {
		if c == 0 {
			continue
		}
		lower, width := histLower(i)
		h.n += uint64(c)
		h.sumUs += uint64(c) * (lower + (width-1)/2)
		h.maxUs = lower + width - 1
	}
	return h
}

// HistogramBuckets are a histogram's non-empty buckets in columns: Count[i]
// samples were at least LowUs[i] and less than LowUs[i]+WidthUs[i]
// microseconds.
type HistogramBuckets struct {
	LowUs   []uint64 `json:"low_us"`
	WidthUs []uint64 `json:"width_us"`
	Count   []uint32 `json:"count"`
}

// Buckets returns the histogram's non-empty buckets, in ascending order.
func (h *Histogram) Buckets() HistogramBuckets {
	b := HistogramBuckets{LowUs: []uint64{}, WidthUs: []uint64{}, Count: []uint32{}}
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		lower, width := histLower(i)
		b.LowUs = append(b.LowUs, lower)
		b.WidthUs = append(b.WidthUs, width)
		b.Count = append(b.Count, c)
	}
	return b
}
