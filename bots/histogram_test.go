package bots

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramExactBelow64us(t *testing.T) {
	var h Histogram
	for us := range 64 {
		h.Record(time.Duration(us) * time.Microsecond)
	}
	for _, q := range []float64{0.01, 0.5, 0.99, 1} {
		want := time.Duration(int(q*64+0.999)-1) * time.Microsecond
		if got := h.Quantile(q); got != want {
			t.Errorf("Quantile(%v) = %v, want %v", q, got, want)
		}
	}
}

func TestHistogramQuantilesWithinResolution(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var samples []time.Duration
	for range 20000 {
		// Log-uniform from 10 µs to about 10 s.
		d := time.Duration(10*1000*(1<<rng.IntN(20))+rng.IntN(1000*(1<<rng.IntN(20)))) * time.Nanosecond
		samples = append(samples, d.Truncate(time.Microsecond))
		h.Record(d)
	}
	slices.Sort(samples)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := samples[int(q*float64(len(samples)))-1]
		got := h.Quantile(q)
		if diff := (got - exact).Abs(); float64(diff) > 0.035*float64(exact)+float64(time.Microsecond) {
			t.Errorf("Quantile(%v) = %v, exact %v: off by more than 3.5%%", q, got, exact)
		}
	}
	if h.Count() != 20000 || h.Max() != samples[len(samples)-1] {
		t.Errorf("Count %d Max %v, want 20000 and %v", h.Count(), h.Max(), samples[len(samples)-1])
	}
}

func TestHistogramMergeAndClamp(t *testing.T) {
	var a, b Histogram
	a.Record(-time.Second) // counts as zero
	a.Record(time.Millisecond)
	b.Record(100 * time.Hour) // clamped
	b.Record(2 * time.Millisecond)
	c := a.Clone()
	c.Merge(&b)
	if c.Count() != 4 || a.Count() != 2 {
		t.Fatalf("counts after merge: merged %d, original %d", c.Count(), a.Count())
	}
	if got := c.Quantile(0.25); got != 0 {
		t.Errorf("p25 = %v, want 0", got)
	}
	if got := c.Quantile(0.75); got < 1950*time.Microsecond || got > 2050*time.Microsecond {
		t.Errorf("p75 = %v, want about 2ms", got)
	}
	if got := c.Max(); got < 19*time.Hour || got > 20*time.Hour {
		t.Errorf("Max = %v, want clamped to about 19h", got)
	}
	var empty Histogram
	if empty.Quantile(0.5) != 0 || empty.Mean() != 0 {
		t.Error("empty histogram has a non-zero quantile or mean")
	}
}
