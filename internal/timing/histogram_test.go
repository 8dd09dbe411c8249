package timing

import (
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	h := NewHistogram(time.Millisecond, 10*time.Millisecond)
	for _, d := range []time.Duration{0, time.Millisecond, time.Millisecond + 1, 10 * time.Millisecond, time.Second} {
		h.Observe(d)
	}
	s := h.Snapshot()
	want := []uint64{2, 2, 1} // <=1ms, <=10ms, +Inf
	for i, c := range want {
		if s.Counts[i] != c {
			t.Fatalf("bucket %d holds %d, want %d (%v)", i, s.Counts[i], c, s.Counts)
		}
	}
	if s.Count() != 5 || s.Sum != 2*time.Millisecond+1+10*time.Millisecond+time.Second {
		t.Fatalf("count %d sum %v", s.Count(), s.Sum)
	}
	var merged Snapshot
	first, second := merged.Add(s), merged.Add(s)
	if !first || !second || merged.Count() != 10 || merged.Counts[0] != 4 {
		t.Fatalf("merged %+v", merged)
	}
	if merged.Add(NewHistogram(time.Second).Snapshot()) {
		t.Fatal("added a snapshot with other bounds")
	}
	s.Counts[0] = 99 // a snapshot is a copy
	if merged.Counts[0] != 4 {
		t.Fatal("Add kept a reference to its argument's counts")
	}
}

// BenchmarkHistogramObserve is the cost a room's tick pays for its histogram.
func BenchmarkHistogramObserve(b *testing.B) {
	h := NewHistogram(TickBuckets...)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Observe(time.Duration(i%5000) * time.Microsecond)
	}
}
