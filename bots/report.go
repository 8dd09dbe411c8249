package bots

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

// Report sums up a run of many bots. Its JSON form is what `tickwire bots`
// prints and what benchmark scripts read; [Report.WriteHTML] draws it.
//
// Client figures (updates, latency, bytes) cover each client's own measured
// window, from its Welcome to the end of the run. Server figures cover the
// runner's measured window, from the end of the joins (and ramp-up) to the
// end of the run, and come from the server's stats endpoint (see
// [RunConfig.StatsURL]); they are zero when it could not be read, and
// ServerStatsError says why.
type Report struct {
	Rooms          int    `json:"rooms"`
	PlayersPerRoom int    `json:"players_per_room"`
	Behaviour      string `json:"behaviour"`
	// Clients is the number of bots the run started, Rooms × PlayersPerRoom;
	// ClientsJoined says how many got in.
	Clients int `json:"clients"`
	// Deflate reports that every joined client had permessage-deflate: the
	// bots offered it and the server agreed.
	Deflate bool `json:"deflate"`
	// DurationS is the wall-clock length of the run, joins and leaves
	// included, in seconds.
	DurationS float64 `json:"duration_s"`
	// RampUpS is the configured ramp-up ([RunConfig.RampUp]), in seconds.
	RampUpS float64 `json:"ramp_up_s"`
	// MeasureS is the length of the measured window in seconds: from when
	// every join was done to when the bots began to leave.
	MeasureS float64 `json:"measure_s"`

	ClientsJoined int `json:"clients_joined"`
	JoinFailures  int `json:"join_failures"`
	// FirstJoinError is the error of the first failed join, if any.
	FirstJoinError string `json:"first_join_error,omitempty"`
	// Join times of the bots that joined: from the start of a bot's join
	// (its lobby seat request, when the lobby seats it) to its Welcome. A
	// report made by NewReport alone has the Welcome wait only.
	JoinP50Ms float64 `json:"join_p50_ms"`
	JoinP90Ms float64 `json:"join_p90_ms"`
	JoinP99Ms float64 `json:"join_p99_ms"`
	JoinMaxMs float64 `json:"join_max_ms"`
	// SeatP50Ms and SeatP99Ms are the lobby's part of the join times: the
	// seat request (matchmaking waits included); 0 without the lobby.
	SeatP50Ms float64 `json:"seat_p50_ms,omitempty"`
	SeatP99Ms float64 `json:"seat_p99_ms,omitempty"`
	// JoinWaitMaxMs is the longest a bot waited past its ramp-up slot for
	// one of the runner's JoinConcurrency join workers: when it is large, the
	// runner, not the server, held the joins back.
	JoinWaitMaxMs float64 `json:"join_wait_max_ms"`
	// JoinPhaseS is from the start of the run to the last Welcome, in
	// seconds; JoinsPerS is the clients joined over that time, the join
	// rate the server sustained during the ramp-up.
	JoinPhaseS float64 `json:"join_phase_s"`
	JoinsPerS  float64 `json:"joins_per_s"`

	// UpdatesExpected is, summed over joined clients, the tick rate times the
	// seconds of wall clock the client was measured (Stats.Connected), from
	// its own Welcome: a server whose tick slips counts the slip as loss.
	// A client whose window's updates span more ticks than that (its first
	// frames queued behind a late Welcome and arrived in a burst) is
	// expected to get every tick of the span (Stats.WindowTicks).
	UpdatesExpected int64 `json:"updates_expected"`
	// UpdatesReceived counts deltas and snapshots applied in those windows,
	// each tick once.
	UpdatesReceived int64 `json:"updates_received"`
	// DeliveryRatio is UpdatesReceived / UpdatesExpected (0 when nothing was
	// expected): the share of expected updates delivered, never above 1.
	// UpdatesDelivered is the same figure under its older name, kept for
	// existing scripts.
	DeliveryRatio    float64 `json:"delivery_ratio"`
	UpdatesDelivered float64 `json:"updates_delivered"`
	FramesMissed     int64   `json:"frames_missed"`
	Desyncs          int64   `json:"desyncs"`
	Resyncs          int64   `json:"resyncs"`
	BadFrames        int64   `json:"bad_frames"`

	// Tick-to-client latency over every update in every client's window.
	LatencyP50Ms float64 `json:"latency_p50_ms"`
	LatencyP99Ms float64 `json:"latency_p99_ms"`
	LatencyMaxMs float64 `json:"latency_max_ms"`

	// BytesPerClientPerS is wire bytes received (WebSocket frames as sent,
	// compressed when the server compressed them) per client-second of
	// measured window; PayloadBytesPerClientPerS the same after inflating.
	BytesPerClientPerS        float64 `json:"bytes_per_client_per_s"`
	PayloadBytesPerClientPerS float64 `json:"payload_bytes_per_client_per_s"`

	InputsSent    int64 `json:"inputs_sent"`
	InputsDropped int64 `json:"inputs_dropped"`
	// ChatSent and ChatReceived are the bots' chat lines said and heard.
	ChatSent     int64 `json:"chat_sent"`
	ChatReceived int64 `json:"chat_received"`

	// Queue waits of bots seated by matchmaking, from ticket to assignment.
	QueueWaitP50Ms float64 `json:"queue_wait_p50_ms,omitempty"`
	QueueWaitP99Ms float64 `json:"queue_wait_p99_ms,omitempty"`
	QueueWaitMaxMs float64 `json:"queue_wait_max_ms,omitempty"`
	// LeaderboardChecked and LeaderboardMismatches count bots whose final
	// score was looked up on the lobby's leaderboard, and those whose entry
	// did not show it (see CheckLeaderboard).
	LeaderboardChecked    int `json:"leaderboard_checked,omitempty"`
	LeaderboardMismatches int `json:"leaderboard_mismatches,omitempty"`

	// MatchesEnded counts rooms in which some client received MatchEnd.
	MatchesEnded int `json:"matches_ended"`
	// CloseCodes counts clients by the close code the server sent them; 0
	// stands for none (closed by the bot, or by a network error).
	CloseCodes map[uint16]int `json:"close_codes"`

	// ServerCPUUsPerClientUpdate is the server's CPU time over the window
	// (ServerCPUSeconds) per state frame it wrote to a client in the window
	// (ServerStateFramesOut), in microseconds.
	ServerCPUUsPerClientUpdate float64 `json:"server_cpu_us_per_client_update"`
	ServerCPUSeconds           float64 `json:"server_cpu_s"`
	ServerStateFramesOut       int64   `json:"server_state_frames_out"`
	// ServerRSSBytes is the server's resident memory at the end of the
	// window; ServerRSSBytesPerClient its growth since before the first join,
	// per joined client.
	ServerRSSBytes          int64 `json:"server_rss_bytes"`
	ServerRSSBytesPerClient int64 `json:"server_rss_bytes_per_client"`
	// Tick durations over every room's recent ticks at the end of the
	// window, and the overruns in the window (since the server started when
	// the window's start could not be read: a server's count never falls).
	TickP50Ms    float64 `json:"tick_p50_ms"`
	TickP99Ms    float64 `json:"tick_p99_ms"`
	TickMaxMs    float64 `json:"tick_max_ms"`
	TickOverruns int64   `json:"tick_overruns"`
	// ServerFramesDropped and ServerSlowConsumers count the server's dropped
	// frames and slow consumers in the window.
	ServerFramesDropped int64 `json:"server_frames_dropped"`
	ServerSlowConsumers int64 `json:"server_slow_consumers"`
	// BotsCPUUsPerClientUpdate is the bots' own process CPU time (user and
	// system, from getrusage) over the runner's measured window
	// (BotsCPUSeconds) per update the bots applied in it (BotsUpdates), in
	// microseconds; BotsCores is that CPU time per second of the window. With
	// the server in the same process, its CPU is counted too.
	// Zero where the platform has no getrusage.
	BotsCPUUsPerClientUpdate float64 `json:"bots_cpu_us_per_client_update"`
	BotsCPUSeconds           float64 `json:"bots_cpu_s"`
	BotsUpdates              int64   `json:"bots_updates"`
	BotsCores                float64 `json:"bots_cores"`
	// ServerStatsError says why some server figures are missing.
	ServerStatsError string `json:"server_stats_error,omitempty"`

	// LatencyHistogram is the tick-to-client latency of every update in every
	// client's window (the histogram LatencyP50Ms and the rest come from).
	LatencyHistogram HistogramBuckets `json:"latency_histogram"`
	// Series is the run second by second; nil for a report made by NewReport
	// alone.
	Series *Series `json:"series,omitempty"`
}

func (r *Report) addQueueWaits(waits []time.Duration) {
	var h Histogram
	n := 0
	for _, w := range waits {
		if w > 0 {
			h.Record(w)
			n++
		}
	}
	if n == 0 {
		return
	}
	r.QueueWaitP50Ms = ms(h.Quantile(0.50))
	r.QueueWaitP99Ms = ms(h.Quantile(0.99))
	r.QueueWaitMaxMs = ms(h.Max())
}

// NewReport aggregates the stats of the clients that joined, the errors of
// the joins that failed and the run's wall-clock length.
func NewReport(stats []Stats, joinErrs []error, elapsed time.Duration) Report {
	r := Report{
		DurationS:     elapsed.Seconds(),
		ClientsJoined: len(stats),
		JoinFailures:  len(joinErrs),
		CloseCodes:    map[uint16]int{},
	}
	if len(joinErrs) > 0 {
		r.FirstJoinError = joinErrs[0].Error()
	}
	var latency, join Histogram
	var expected, seconds float64
	var wire, payload int64
	deflated := 0
	ended := map[string]bool{}
	for i := range stats {
		s := &stats[i]
		latency.Merge(&s.Latency)
		join.Record(s.JoinTime)
		expected += max(float64(s.TickRate)*s.Connected.Seconds(), float64(s.WindowTicks))
		seconds += s.Connected.Seconds()
		wire += s.WireBytes
		payload += s.PayloadBytes
		r.UpdatesReceived += s.Updates
		r.FramesMissed += s.FramesMissed
		r.Desyncs += s.Desyncs
		r.Resyncs += s.Resyncs
		r.BadFrames += s.BadFrames
		r.InputsSent += s.InputsSent
		r.InputsDropped += s.InputsDropped
		r.ChatSent += s.ChatSent
		r.ChatReceived += s.ChatReceived
		r.CloseCodes[s.CloseCode]++
		if s.Deflate {
			deflated++
		}
		if s.MatchEnd != nil {
			ended[s.RoomID] = true
		}
	}
	r.UpdatesExpected = int64(math.Round(expected))
	if r.UpdatesExpected > 0 {
		r.DeliveryRatio = float64(r.UpdatesReceived) / float64(r.UpdatesExpected)
		r.UpdatesDelivered = r.DeliveryRatio
	}
	r.Deflate = deflated == len(stats) && len(stats) > 0
	if seconds > 0 {
		r.BytesPerClientPerS = float64(wire) / seconds
		r.PayloadBytesPerClientPerS = float64(payload) / seconds
	}
	r.LatencyP50Ms = ms(latency.Quantile(0.50))
	r.LatencyP99Ms = ms(latency.Quantile(0.99))
	r.LatencyMaxMs = ms(latency.Max())
	r.LatencyHistogram = latency.Buckets()
	r.setJoinTimes(&join)
	r.MatchesEnded = len(ended)
	return r
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Failed returns an error if the run shows a fault a user would notice: a
// failed join, a desync, or no client joined at all. It is nil otherwise.
func (r Report) Failed() error {
	var errs []error
	if r.ClientsJoined == 0 {
		errs = append(errs, errors.New("no client joined"))
	}
	if r.JoinFailures > 0 {
		errs = append(errs, fmt.Errorf("%d joins failed, first: %s", r.JoinFailures, r.FirstJoinError))
	}
	if r.Desyncs > 0 {
		errs = append(errs, fmt.Errorf("%d desyncs (%d resyncs)", r.Desyncs, r.Resyncs))
	}
	if r.LeaderboardMismatches > 0 {
		errs = append(errs, fmt.Errorf("%d of %d final scores missing from the leaderboard", r.LeaderboardMismatches, r.LeaderboardChecked))
	}
	return errors.Join(errs...)
}

// Print writes a human-readable summary to w.
func (r Report) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "run\t%d rooms x %d players, behaviour %s, %.1f s\n", r.Rooms, r.PlayersPerRoom, r.Behaviour, r.DurationS)
	fmt.Fprintf(tw, "clients joined\t%d of %d (%d failed), deflate %s\n", r.ClientsJoined, r.Clients, r.JoinFailures, onOff(r.Deflate))
	r.printJoins(tw)
	fmt.Fprintf(tw, "measured window\t%.1f s (after %.1f s of ramp-up)\n", r.MeasureS, r.RampUpS)
	if r.FirstJoinError != "" {
		fmt.Fprintf(tw, "first join error\t%s\n", r.FirstJoinError)
	}
	fmt.Fprintf(tw, "updates\t%d of %d expected (%.2f%%), %d ticks missed\n",
		r.UpdatesReceived, r.UpdatesExpected, 100*r.DeliveryRatio, r.FramesMissed)
	fmt.Fprintf(tw, "desyncs\t%d (%d resyncs, %d bad frames)\n", r.Desyncs, r.Resyncs, r.BadFrames)
	fmt.Fprintf(tw, "latency\tp50 %.2f ms, p99 %.2f ms, max %.2f ms\n", r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs)
	fmt.Fprintf(tw, "bytes/client/s\t%.0f on the wire, %.0f inflated\n", r.BytesPerClientPerS, r.PayloadBytesPerClientPerS)
	fmt.Fprintf(tw, "inputs\t%d sent, %d dropped\n", r.InputsSent, r.InputsDropped)
	fmt.Fprintf(tw, "chat\t%d lines said, %d heard\n", r.ChatSent, r.ChatReceived)
	fmt.Fprintf(tw, "matches ended\t%d\n", r.MatchesEnded)
	r.printServer(tw)
	if r.BotsCPUSeconds > 0 {
		fmt.Fprintf(tw, "bots cpu\t%.2f µs per client update (%.2f s for %d updates, %.2f cores)\n",
			r.BotsCPUUsPerClientUpdate, r.BotsCPUSeconds, r.BotsUpdates, r.BotsCores)
	}
	if r.QueueWaitMaxMs > 0 {
		fmt.Fprintf(tw, "queue wait\tp50 %.0f ms, p99 %.0f ms, max %.0f ms\n", r.QueueWaitP50Ms, r.QueueWaitP99Ms, r.QueueWaitMaxMs)
	}
	if r.LeaderboardChecked > 0 {
		fmt.Fprintf(tw, "leaderboard\t%d of %d final scores found\n", r.LeaderboardChecked-r.LeaderboardMismatches, r.LeaderboardChecked)
	}
	codes := make([]uint16, 0, len(r.CloseCodes))
	for code := range r.CloseCodes {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	fmt.Fprint(tw, "close codes\t")
	for i, code := range codes {
		if i > 0 {
			fmt.Fprint(tw, ", ")
		}
		fmt.Fprintf(tw, "%d: %d", code, r.CloseCodes[code])
	}
	fmt.Fprintln(tw)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print report: %w", err)
	}
	return nil
}

func (r Report) printServer(w io.Writer) {
	if r.ServerStatsError != "" {
		fmt.Fprintf(w, "server stats\tunavailable (%s)\n", r.ServerStatsError)
	}
	if r.ServerRSSBytes == 0 {
		return // no sample at the end of the window: nothing to show
	}
	fmt.Fprintf(w, "server cpu\t%.2f µs per client update (%.2f s for %d state frames)\n",
		r.ServerCPUUsPerClientUpdate, r.ServerCPUSeconds, r.ServerStateFramesOut)
	fmt.Fprintf(w, "server memory\t%.1f MiB resident, %.1f KiB per client\n",
		float64(r.ServerRSSBytes)/(1<<20), float64(r.ServerRSSBytesPerClient)/(1<<10))
	fmt.Fprintf(w, "server ticks\tp50 %.2f ms, p99 %.2f ms, max %.2f ms, %d overruns\n",
		r.TickP50Ms, r.TickP99Ms, r.TickMaxMs, r.TickOverruns)
	fmt.Fprintf(w, "server drops\t%d frames dropped, %d slow consumers\n", r.ServerFramesDropped, r.ServerSlowConsumers)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
