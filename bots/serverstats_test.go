package bots

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestReportServerFigures(t *testing.T) {
	before := &serverStats{CPUSeconds: 1.5, RSSBytes: 20 << 20, StateFramesOut: 0}
	start := &serverStats{CPUSeconds: 2.0, RSSBytes: 40 << 20, StateFramesOut: 1_000, FramesDropped: 3, SlowConsumers: 1}
	end := &serverStats{CPUSeconds: 5.0, RSSBytes: 41 << 20, StateFramesOut: 601_000, FramesDropped: 10, SlowConsumers: 1,
		TickP50Ms: 0.25, TickP99Ms: 1.5, TickMaxMs: 7, TickOverruns: 2}

	r := Report{ClientsJoined: 800}
	r.addServerStats(serverSamples{before: before, start: start, end: end})
	// 3 s of CPU for 600 000 state frames: 5 µs each; 21 MiB more for 800 clients.
	if !near(r.ServerCPUUsPerClientUpdate, 5, 1e-9) || !near(r.ServerCPUSeconds, 3, 1e-9) || r.ServerStateFramesOut != 600_000 {
		t.Errorf("cpu %v µs per update (%v s, %d frames), want 5 (3 s, 600000)", r.ServerCPUUsPerClientUpdate, r.ServerCPUSeconds, r.ServerStateFramesOut)
	}
	if r.ServerRSSBytes != 41<<20 || r.ServerRSSBytesPerClient != 21<<20/800 {
		t.Errorf("rss %d, per client %d; want %d, %d", r.ServerRSSBytes, r.ServerRSSBytesPerClient, 41<<20, 21<<20/800)
	}
	if r.TickP50Ms != 0.25 || r.TickP99Ms != 1.5 || r.TickMaxMs != 7 || r.TickOverruns != 2 {
		t.Errorf("ticks %v %v %v %d", r.TickP50Ms, r.TickP99Ms, r.TickMaxMs, r.TickOverruns)
	}
	if r.ServerFramesDropped != 7 || r.ServerSlowConsumers != 0 || r.ServerStatsError != "" {
		t.Errorf("dropped %d slow %d error %q", r.ServerFramesDropped, r.ServerSlowConsumers, r.ServerStatsError)
	}

	// Missing samples leave their figures out and say why.
	r = Report{ClientsJoined: 800}
	r.addServerStats(serverSamples{end: end, err: errors.New("server stats: 404 Not Found")})
	if r.ServerRSSBytes != 41<<20 || r.ServerCPUUsPerClientUpdate != 0 || r.ServerRSSBytesPerClient != 0 ||
		r.TickP99Ms != 1.5 || r.ServerStatsError == "" {
		t.Errorf("with the end sample only: %+v", r)
	}
	r = Report{ClientsJoined: 800}
	r.addServerStats(serverSamples{err: errors.New("connection refused")})
	var out strings.Builder
	if err := r.Print(&out); err != nil {
		t.Fatal(err)
	}
	if r.ServerRSSBytes != 0 || r.TickP50Ms != 0 || !strings.Contains(out.String(), "unavailable (connection refused)") ||
		strings.Contains(out.String(), "server cpu") {
		t.Errorf("without samples: %+v\n%s", r, out.String())
	}
}

func TestStatsURL(t *testing.T) {
	for in, want := range map[string]string{
		"ws://127.0.0.1:7350":        "http://127.0.0.1:7350/v1/stats",
		"ws://127.0.0.1:7350/ws?x=1": "http://127.0.0.1:7350/v1/stats",
		"wss://game.example":         "https://game.example/v1/stats",
		"http://10.0.0.1:80/":        "http://10.0.0.1:80/v1/stats",
	} {
		if got, err := statsURL(in); err != nil || got != want {
			t.Errorf("statsURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ftp://x", "ws://", "::"} {
		if _, err := statsURL(bad); err == nil {
			t.Errorf("statsURL(%q) succeeded", bad)
		}
	}
}

// fakeStats serves /v1/stats with counters that grow with each request.
type fakeStats struct {
	mu    sync.Mutex
	calls int
}

func (f *fakeStats) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	f.calls++
	n := int64(f.calls)
	f.mu.Unlock()
	// Samples 1, 2, 3: CPU 1, 2, 4 s; frames 0, 100, 400 100; RSS 10, 20, 30 MiB;
	// overruns 1, 2, 3 (one in the window).
	cpu := map[int64]float64{1: 1, 2: 2, 3: 4}[n]
	frames := map[int64]int64{1: 0, 2: 100, 3: 400_100}[n]
	_ = json.NewEncoder(w).Encode(map[string]any{
		"connections": 4, "rooms": 2, "cpu_seconds": cpu, "rss_bytes": n * 10 << 20, "state_frames_out": frames,
		"tick_p50_ms": 0.5, "tick_p99_ms": 2.5, "tick_max_ms": 9.5, "tick_overruns": n, "uptime_s": 12.5,
	})
}

// A run samples the server's stats before the first join and at both ends of
// its window, spreads its joins over RampUp, records its seconds and shows
// its progress.
func TestRunServerStatsRampUpAndProgress(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{tickRate: 50})
	stats := &fakeStats{}
	hs := httptest.NewServer(stats)
	defer hs.Close()
	var progress strings.Builder
	_, rep := runBots(t, RunConfig{URL: srv.url, Rooms: 2, Players: 2, Duration: 1500 * time.Millisecond,
		RampUp: 600 * time.Millisecond, StatsURL: hs.URL + "/v1/stats", Progress: &progress, Behaviour: "idle"})

	if err := rep.Failed(); err != nil || rep.ClientsJoined != 4 || rep.Clients != 4 || !rep.Deflate {
		t.Fatalf("report %+v: %v", rep, err)
	}
	stats.mu.Lock()
	calls := stats.calls
	stats.mu.Unlock()
	if calls != 3 {
		t.Fatalf("%d stats requests, want 3", calls)
	}
	if !near(rep.ServerCPUUsPerClientUpdate, 5, 1e-9) || rep.ServerRSSBytes != 30<<20 ||
		rep.ServerRSSBytesPerClient != 20<<20/4 || rep.TickP99Ms != 2.5 || rep.TickOverruns != 3-2 || rep.ServerStatsError != "" {
		t.Errorf("server figures: cpu %v µs, rss %d (%d per client), tick p99 %v, overruns %d, error %q",
			rep.ServerCPUUsPerClientUpdate, rep.ServerRSSBytes, rep.ServerRSSBytesPerClient, rep.TickP99Ms, rep.TickOverruns, rep.ServerStatsError)
	}
	if !near(rep.DeliveryRatio, rep.UpdatesDelivered, 0) || rep.DeliveryRatio <= 0 {
		t.Errorf("delivery ratio %v, updates delivered %v", rep.DeliveryRatio, rep.UpdatesDelivered)
	}

	// The window opens once the ramp-up is over, and the last join started
	// no earlier than 3/4 of the way through it.
	s := rep.Series
	if s == nil || s.Len() == 0 {
		t.Fatal("no series")
	}
	if s.WindowStartS < 0.45 || rep.RampUpS != 0.6 || !near(rep.MeasureS, s.WindowEndS-s.WindowStartS, 0.01) {
		t.Errorf("window %v..%v s, measure %v s, ramp-up %v s", s.WindowStartS, s.WindowEndS, rep.MeasureS, rep.RampUpS)
	}
	var updates, bytes int64
	peak := 0
	for i := range s.Len() {
		updates += s.Updates[i]
		bytes += s.Bytes[i]
		peak = max(peak, s.Clients[i])
	}
	if peak != 4 || s.Clients[s.Len()-1] != 0 || updates < rep.UpdatesReceived || bytes <= 0 {
		t.Errorf("series: peak %d clients, last %d, %d updates (report %d), %d bytes",
			peak, s.Clients[s.Len()-1], updates, rep.UpdatesReceived, bytes)
	}
	if out := progress.String(); !strings.Contains(out, "clients") || !strings.Contains(out, "/4") || !strings.Contains(out, "updates/s") {
		t.Errorf("progress output %q", out)
	}

	var p strings.Builder
	if err := rep.Print(&p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server cpu", "5.00 µs per client update (2.00 s for 400000 state frames)", "server ticks", "p99 2.50 ms", "deflate on", "after 0.6 s of ramp-up"} {
		if !strings.Contains(p.String(), want) {
			t.Errorf("Print lacks %q:\n%s", want, p.String())
		}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"server_cpu_us_per_client_update", "server_rss_bytes_per_client", `"server_rss_bytes"`,
		"tick_p50_ms", "tick_p99_ms", "tick_max_ms", "tick_overruns", "delivery_ratio", "latency_max_ms", `"clients":4`,
		`"rooms":2`, `"players_per_room":2`, `"deflate":true`, "measure_s", `"series":{"t_s":`, `"latency_histogram":{"low_us":`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

// A server without a stats endpoint is no failure: the figures stay zero and
// the report says why.
func TestRunWithoutServerStats(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{tickRate: 50})
	_, rep := runBots(t, RunConfig{URL: srv.url, Players: 2, Duration: 300 * time.Millisecond, Behaviour: "idle"})
	if err := rep.Failed(); err != nil {
		t.Fatal(err)
	}
	if rep.ServerStatsError == "" || !strings.Contains(rep.ServerStatsError, "404") || rep.ServerRSSBytes != 0 || rep.ServerCPUUsPerClientUpdate != 0 {
		t.Errorf("server stats error %q, rss %d, cpu %v", rep.ServerStatsError, rep.ServerRSSBytes, rep.ServerCPUUsPerClientUpdate)
	}
}
