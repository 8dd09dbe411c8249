package bots

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewReport(t *testing.T) {
	lat := func(ms ...int) Histogram {
		var h Histogram
		for _, v := range ms {
			h.Record(time.Duration(v) * time.Millisecond)
		}
		return h
	}
	stats := []Stats{
		{
			RoomID: "r-0", TickRate: 20, Connected: 10 * time.Second, JoinTime: 5 * time.Millisecond,
			Updates: 199, FramesMissed: 1, WireBytes: 20000, PayloadBytes: 50000, InputsSent: 100,
			Latency: lat(1, 1, 1, 1, 1, 1, 1, 1, 1, 1), CloseCode: 1000,
			MatchEnd: &MatchResult{Tick: 200},
		},
		{
			RoomID: "r-0", TickRate: 20, Connected: 10 * time.Second, JoinTime: 7 * time.Millisecond,
			Updates: 200, WireBytes: 20000, PayloadBytes: 50000, InputsSent: 100,
			Latency: lat(2, 2, 2, 2, 2, 2, 2, 2, 2, 50), CloseCode: 1000,
			MatchEnd: &MatchResult{Tick: 200},
		},
		{
			RoomID: "r-1", TickRate: 10, Connected: 5 * time.Second, JoinTime: 6 * time.Millisecond,
			Updates: 40, FramesMissed: 10, Desyncs: 2, Resyncs: 3, WireBytes: 10000, PayloadBytes: 10000,
			InputsSent: 50, InputsDropped: 2, CloseCode: 4008,
		},
	}
	r := NewReport(stats, []error{errors.New("room full"), errors.New("timeout")}, 12*time.Second)

	if r.ClientsJoined != 3 || r.JoinFailures != 2 || r.FirstJoinError != "room full" {
		t.Errorf("joined %d failures %d first %q", r.ClientsJoined, r.JoinFailures, r.FirstJoinError)
	}
	if r.UpdatesExpected != 450 || r.UpdatesReceived != 439 || r.FramesMissed != 11 {
		t.Errorf("updates expected %d received %d missed %d, want 450, 439, 11",
			r.UpdatesExpected, r.UpdatesReceived, r.FramesMissed)
	}
	if d := r.UpdatesDelivered - 439.0/450; d > 1e-9 || d < -1e-9 {
		t.Errorf("updates delivered %v, want %v", r.UpdatesDelivered, 439.0/450)
	}
	if r.Desyncs != 2 || r.Resyncs != 3 || r.InputsSent != 250 || r.InputsDropped != 2 {
		t.Errorf("desyncs %d resyncs %d inputs %d/%d", r.Desyncs, r.Resyncs, r.InputsSent, r.InputsDropped)
	}
	// 20 latency samples: ten of 1 ms, nine of 2 ms, one of 50 ms.
	if r.LatencyP50Ms < 0.97 || r.LatencyP50Ms > 1.03 || r.LatencyP99Ms < 48.5 || r.LatencyP99Ms > 51.5 || r.LatencyMaxMs != 50 {
		t.Errorf("latency p50 %v p99 %v max %v, want about 1, 50, 50", r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs)
	}
	// 50000 wire bytes over 25 client-seconds.
	if r.BytesPerClientPerS != 2000 || r.PayloadBytesPerClientPerS != 4400 {
		t.Errorf("bytes per client per s %v (payload %v), want 2000 (4400)", r.BytesPerClientPerS, r.PayloadBytesPerClientPerS)
	}
	if r.MatchesEnded != 1 || r.CloseCodes[1000] != 2 || r.CloseCodes[4008] != 1 || r.DurationS != 12 {
		t.Errorf("matches ended %d close codes %v duration %v", r.MatchesEnded, r.CloseCodes, r.DurationS)
	}
	if r.JoinP50Ms < 5.9 || r.JoinP50Ms > 6.1 {
		t.Errorf("join p50 %v ms, want 6", r.JoinP50Ms)
	}

	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"clients_joined", "join_failures", "updates_expected", "updates_received", "desyncs",
		"latency_p50_ms", "latency_p99_ms", "bytes_per_client_per_s", "frames_missed", "resyncs", "duration_s",
		"matches_ended", `"close_codes":{"1000":2,"4008":1}`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
}

func TestReportFailed(t *testing.T) {
	good := Report{ClientsJoined: 5}
	if err := good.Failed(); err != nil {
		t.Errorf("Failed() = %v for a clean run", err)
	}
	for name, r := range map[string]Report{
		"desync":       {ClientsJoined: 5, Desyncs: 1},
		"join failure": {ClientsJoined: 5, JoinFailures: 1, FirstJoinError: "room full"},
		"nobody":       {},
	} {
		if err := r.Failed(); err == nil {
			t.Errorf("%s: Failed() = nil", name)
		}
	}
}

func TestReportPrint(t *testing.T) {
	r := NewReport([]Stats{{RoomID: "r-0", TickRate: 20, Connected: time.Second, Updates: 20, CloseCode: 1000}},
		nil, 2*time.Second)
	r.Rooms, r.PlayersPerRoom, r.Behaviour = 1, 1, "idle"
	var b strings.Builder
	if err := r.Print(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 rooms x 1 players, behaviour idle", "20 of 20 expected (100.00%)", "desyncs", "1000: 1"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}
