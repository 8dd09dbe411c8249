package main

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
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
	// RoomList is every running room's own figures, by id (the page's
	// monitor view shows them).
	RoomList []roomStats `json:"room_list"`
}

// roomStats is one running room in GET /v1/stats.
type roomStats struct {
	ID       string `json:"id"`
	Mode     string `json:"mode"`
	Players  int    `json:"players"`
	Capacity int    `json:"capacity"`
	// Spectators are watching, not playing: not in Players.
	Spectators int    `json:"spectators"`
	Phase      string `json:"phase"`
	Ticks      uint64 `json:"ticks"`
	// TickP50Ms and TickP99Ms are over the room's most recent ticks.
	TickP50Ms     float64 `json:"tick_p50_ms"`
	TickP99Ms     float64 `json:"tick_p99_ms"`
	BytesOut      uint64  `json:"bytes_out"`
	FramesDropped uint64  `json:"frames_dropped"`
	InputsDropped uint64  `json:"inputs_dropped"`
}

// roomList is the figures of every running room, sorted by id.
func roomList(gs *netcode.Server) []roomStats {
	ticks := gs.RoomStats()
	rooms := gs.Rooms()
	out := make([]roomStats, 0, len(rooms))
	for _, r := range rooms {
		t := ticks[r.ID]
		out = append(out, roomStats{
			ID: r.ID, Mode: r.Mode, Players: r.Players, Capacity: r.Capacity, Spectators: r.Spectators, Phase: r.Phase.String(),
			Ticks: t.Ticks, TickP50Ms: ms(t.P50), TickP99Ms: ms(t.P99),
			BytesOut: r.BytesOut, FramesDropped: r.FramesDropped, InputsDropped: t.DroppedInputs,
		})
	}
	slices.SortFunc(out, func(a, b roomStats) int { return strings.Compare(a.ID, b.ID) })
	return out
}

var started = time.Now()

func writeStats(w http.ResponseWriter, gs *netcode.Server) {
	ts := gs.TickStats()
	body := statsBody{
		Stats: gs.Stats(), Ticks: ts.Ticks,
		TickP50Ms: ms(ts.P50), TickP99Ms: ms(ts.P99), TickMaxMs: ms(ts.Max),
		Overruns: ts.Overruns, Skipped: ts.Skipped,
		CPUSeconds: cpuSeconds(), RSSBytes: rssBytes(), UptimeS: time.Since(started).Seconds(),
		RoomList: roomList(gs),
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
