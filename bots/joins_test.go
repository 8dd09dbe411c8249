package bots

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A run reports its joins (whole joins, the seat included, and the rate),
// the bots' own CPU per update, and a delivery ratio of at most 1, in its
// JSON and its text.
func TestRunReportsJoinsAndBotsCPU(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{tickRate: 50, matchTicks: 100})
	var seats atomic.Int64
	seat := func(_ context.Context, room, _ int, _ string) (Seat, error) {
		seats.Add(1)
		return Seat{RoomID: []string{"join-0", "join-1"}[room]}, nil
	}
	_, rep := runBots(t, RunConfig{URL: srv.url, Rooms: 2, Players: 4, Duration: 20 * time.Second,
		RampUp: 200 * time.Millisecond, Seat: seat, InputRate: 20, RoomPrefix: "join"})
	if err := rep.Failed(); err != nil {
		t.Fatalf("report: %v", err)
	}
	if seats.Load() != 8 || rep.ClientsJoined != 8 {
		t.Fatalf("%d seats asked, %d joined; want 8 and 8", seats.Load(), rep.ClientsJoined)
	}
	if !(rep.JoinP50Ms > 0 && rep.JoinP50Ms <= rep.JoinP90Ms && rep.JoinP90Ms <= rep.JoinP99Ms && rep.JoinP99Ms <= rep.JoinMaxMs) {
		t.Errorf("join p50 %v p90 %v p99 %v max %v: want 0 < p50 <= p90 <= p99 <= max",
			rep.JoinP50Ms, rep.JoinP90Ms, rep.JoinP99Ms, rep.JoinMaxMs)
	}
	if rep.SeatP50Ms <= 0 || rep.SeatP50Ms > rep.JoinMaxMs {
		t.Errorf("seat p50 %v ms, want a part of the join (max %v ms)", rep.SeatP50Ms, rep.JoinMaxMs)
	}
	// The last bot is due 7/8 of the way through the ramp-up: the join phase
	// lasts at least that long, and the rate is the joins over it.
	if rep.JoinPhaseS < 0.175 || rep.JoinPhaseS > rep.DurationS {
		t.Errorf("join phase %v s of a %v s run, want at least the ramp-up's 0.175 s", rep.JoinPhaseS, rep.DurationS)
	}
	if want := 8 / rep.JoinPhaseS; rep.JoinsPerS < want*0.999 || rep.JoinsPerS > want*1.001 {
		t.Errorf("joins per s %v, want 8 / %v s", rep.JoinsPerS, rep.JoinPhaseS)
	}
	var joins int64
	for _, n := range rep.Series.Joins {
		joins += n
	}
	if joins != 8 {
		t.Errorf("series counts %d joins (%v), want 8", joins, rep.Series.Joins)
	}
	if rep.BotsUpdates <= 0 || rep.BotsCPUSeconds <= 0 || rep.BotsCores <= 0 ||
		rep.BotsCPUUsPerClientUpdate != float64(int64(rep.BotsCPUSeconds*1e6))/float64(rep.BotsUpdates) {
		t.Errorf("bots cpu %v s for %d updates = %v µs each, %v cores", rep.BotsCPUSeconds, rep.BotsUpdates,
			rep.BotsCPUUsPerClientUpdate, rep.BotsCores)
	}
	if rep.DeliveryRatio <= 0 || rep.DeliveryRatio > 1 {
		t.Errorf("delivery ratio %v", rep.DeliveryRatio)
	}

	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"join_p90_ms", "join_max_ms", "seat_p50_ms", "joins_per_s", "join_phase_s",
		"join_wait_max_ms", "bots_cpu_us_per_client_update", "bots_cpu_s", "bots_updates", "bots_cores"} {
		if !bytes.Contains(b, []byte(`"`+key+`"`)) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	var text strings.Builder
	if err := rep.Print(&text); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"join time", "lobby seat", "join rate", "bots cpu"} {
		if !strings.Contains(text.String(), line) {
			t.Errorf("summary lacks %q:\n%s", line, text.String())
		}
	}
	var page strings.Builder
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, card := range []string{"Join rate", fmt.Sprintf("%.0f joins/s", rep.JoinsPerS), "Bots CPU per client update",
		fmt.Sprintf("%.2f µs", rep.BotsCPUUsPerClientUpdate), fmt.Sprintf("p90 %.1f ms", rep.JoinP90Ms)} {
		if !strings.Contains(page.String(), card) {
			t.Errorf("HTML report lacks %q", card)
		}
	}
}
