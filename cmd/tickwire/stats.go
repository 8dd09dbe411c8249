package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tickwire/tickwire/netcode"
)

// statsBody is the JSON of GET /v1/stats: the game server's counters, the tick
// timing of all rooms together and the process's CPU and memory, so a load
// runner can measure a server on another machine.
type statsBody struct {
	netcode.Stats
	Ticks      uint64  `json:"ticks"`
	TickP50Ms  float64 `json:"tick_p50_ms"`
	TickP99Ms  float64 `json:"tick_p99_ms"`
	TickMaxMs  float64 `json:"tick_max_ms"`
	Overruns   uint64  `json:"tick_overruns"`
	Skipped    uint64  `json:"tick_slots_skipped"`
	CPUSeconds float64 `json:"cpu_seconds"`
	RSSBytes   int64   `json:"rss_bytes"`
	UptimeS    float64 `json:"uptime_s"`
}

var started = time.Now()

func writeStats(w http.ResponseWriter, gs *netcode.Server) {
	ts := gs.TickStats()
	body := statsBody{
		Stats: gs.Stats(), Ticks: ts.Ticks,
		TickP50Ms: ms(ts.P50), TickP99Ms: ms(ts.P99), TickMaxMs: ms(ts.Max),
		Overruns: ts.Overruns, Skipped: ts.Skipped,
		CPUSeconds: cpuSeconds(), RSSBytes: rssBytes(), UptimeS: time.Since(started).Seconds(),
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(body)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpuSeconds is the process's user plus system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// rssBytes is the process's resident memory now (Linux), or 0 if unknown.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
