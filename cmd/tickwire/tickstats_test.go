package main

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/netcode"
)

// TestTickStatsAndMetrics: a running room's tick timing shows on /v1/stats
// (tick p50 and p99 over the recent ticks) and on /metrics (the tick-duration
// histogram, whose +Inf bucket holds every tick counted), as netcode keeps it
// from what each room reports of its ticks.
func TestTickStatsAndMetrics(t *testing.T) {
	tn := startNode(t, "duel:2:1m", netcode.Config{})
	lob, err := bots.NewLobby(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	room, err := lob.CreateRoom(ctx, "duel", false)
	if err != nil {
		t.Fatal(err)
	}
	seat, err := lob.JoinRoom(ctx, room.RoomID, "ann", "Ann")
	if err != nil {
		t.Fatal(err)
	}
	c, err := bots.Dial(ctx, bots.Config{URL: seat.URL, RoomID: seat.RoomID, Ticket: seat.Ticket, Name: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := strings.TrimPrefix(tn.url, "ws://")
	st := waitStats(t, addr, "ticks with timing", func(st map[string]float64) bool {
		return st["ticks"] >= 5 && st["tick_p50_ms"] > 0
	})
	if st["tick_p99_ms"] < st["tick_p50_ms"] || st["tick_max_ms"] < st["tick_p99_ms"] {
		t.Fatalf("/v1/stats tick p50 %v p99 %v max %v: not ordered", st["tick_p50_ms"], st["tick_p99_ms"], st["tick_max_ms"])
	}
	var m map[string]float64
	waitFor(t, 10*time.Second, "the tick histogram on /metrics", func() bool {
		m = scrape(t, "http://"+addr+"/metrics")
		return m["tickwire_tick_duration_seconds_count"] >= 5
	})
	if inf := m[`tickwire_tick_duration_seconds_bucket{le="+Inf"}`]; inf != m["tickwire_tick_duration_seconds_count"] {
		t.Fatalf("tick histogram: +Inf bucket %v, count %v", inf, m["tickwire_tick_duration_seconds_count"])
	}
	if m["tickwire_tick_duration_seconds_sum"] <= 0 {
		t.Fatalf("tick histogram sums %v seconds over %v ticks", m["tickwire_tick_duration_seconds_sum"], m["tickwire_tick_duration_seconds_count"])
	}
}

// scrape reads a Prometheus text page into its samples by series (name and
// labels as written).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
