package bots

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

func TestRecorderSeries(t *testing.T) {
	m := newMeter()
	start := time.Unix(1000, 0)
	rec := newRecorder(m, start)
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	add := func(clients, updates, wire int64, latencyMs ...float64) {
		m.connected.Add(clients)
		m.joined.Add(max(clients, 0))
		m.updates.Add(updates)
		m.wire.Add(wire)
		for _, l := range latencyMs {
			m.recordLatency(time.Duration(l * float64(time.Millisecond)))
		}
	}

	add(2, 40, 4000, 1, 1, 1, 9) // second 1: two bots joined
	p := rec.sample(at(1))
	if p.clients != 2 || p.updates != 40 || p.bytes != 4000 || p.perSecond(p.updates) != 40 {
		t.Errorf("first point %+v", p)
	}
	rec.sample(at(2))            // second 2: nothing arrived
	add(1, 90, 9000, 2, 2, 2, 2) // second 3: a third bot
	rec.sample(at(3))
	add(-3, 3, 300, 4) // the bots leave within 0.2 s: merged into second 3
	p = rec.finish(at(3.2))

	want := Series{
		TS:           []float64{1, 2, 3.2},
		Clients:      []int{2, 2, 0},
		Updates:      []int64{40, 0, 93},
		Bytes:        []int64{4000, 0, 9300},
		Joins:        []int64{2, 0, 1},
		LatencyP50Ms: []float64{1, 0, 2},
		LatencyP99Ms: []float64{9, 0, 2},
	}
	got := rec.series
	if !reflect.DeepEqual(got.TS, want.TS) || !reflect.DeepEqual(got.Clients, want.Clients) ||
		!reflect.DeepEqual(got.Updates, want.Updates) || !reflect.DeepEqual(got.Bytes, want.Bytes) ||
		!reflect.DeepEqual(got.Joins, want.Joins) {
		t.Errorf("series\n got %+v\nwant %+v", got, want)
	}
	for i := range want.TS { // within a histogram bucket (3%)
		if !near(got.LatencyP50Ms[i], want.LatencyP50Ms[i], 0.04) || !near(got.LatencyP99Ms[i], want.LatencyP99Ms[i], 0.04) {
			t.Errorf("interval %d latency p50 %v p99 %v, want about %v %v", i,
				got.LatencyP50Ms[i], got.LatencyP99Ms[i], want.LatencyP50Ms[i], want.LatencyP99Ms[i])
		}
	}
	if p.interval != 1200*time.Millisecond || p.updates != 93 || p.clients != 0 {
		t.Errorf("last point %+v, want the merged 1.2 s interval", p)
	}

	// A last interval of half a second or more stands on its own.
	add(0, 10, 0)
	rec.finish(at(3.9))
	if got := rec.series.TS; len(got) != 4 || got[3] != 3.9 || rec.series.Updates[3] != 10 {
		t.Errorf("series after a long last interval: %+v", rec.series)
	}

	b, err := json.Marshal(rec.series)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"t_s":[1,2,3.2,3.9]`, `"clients":[2,2,0,0]`, `"updates":`, `"bytes":`, `"latency_p50_ms":`, `"latency_p99_ms":`, `"window_start_s"`} {
		if !json.Valid(b) || !bytes.Contains(b, []byte(key)) {
			t.Errorf("series JSON lacks %s: %s", key, b)
		}
	}
}

func near(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)
}

// The meter's latency buckets are the Histogram's: a per-second histogram
// taken from them agrees with one recorded directly.
func TestMeterLatencyMatchesHistogram(t *testing.T) {
	m := newMeter()
	var h Histogram
	for us := int64(0); us < 3_000_000; us = us*5/4 + 1 {
		d := time.Duration(us) * time.Microsecond
		m.recordLatency(d)
		h.Record(d)
	}
	m.recordLatency(-time.Second)
	h.Record(-time.Second)
	counts := make([]uint32, len(m.latency))
	for i := range m.latency {
		counts[i] = uint32(m.latency[i].Load())
	}
	got := histogramOf(counts)
	if got.Count() != h.Count() {
		t.Fatalf("count %d, want %d", got.Count(), h.Count())
	}
	for _, q := range []float64{0.1, 0.5, 0.9, 0.99, 1} {
		if got.Quantile(q) != h.Quantile(q) {
			t.Errorf("q%v = %v, want %v", q, got.Quantile(q), h.Quantile(q))
		}
	}
	if !reflect.DeepEqual(got.Buckets(), h.Buckets()) {
		t.Errorf("buckets differ:\n got %+v\nwant %+v", got.Buckets(), h.Buckets())
	}
}
