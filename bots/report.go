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
// prints and what benchmark scripts read.
type Report struct {
	Rooms          int    `json:"rooms"`
	PlayersPerRoom int    `json:"players_per_room"`
	Behaviour      string `json:"behaviour"`
	// DurationS is the wall-clock length of the run, joins and leaves
	// included, in seconds.
	DurationS float64 `json:"duration_s"`

	ClientsJoined int `json:"clients_joined"`
	JoinFailures  int `json:"join_failures"`
	// FirstJoinError is the error of the first failed join, if any.
	FirstJoinError string  `json:"first_join_error,omitempty"`
	JoinP50Ms      float64 `json:"join_p50_ms"`
	JoinP99Ms      float64 `json:"join_p99_ms"`

	// UpdatesExpected is, summed over joined clients, the tick rate times the
	// seconds of wall clock the client was measured (Stats.Connected): a
	// server whose tick slips counts the slip as loss.
	UpdatesExpected int64 `json:"updates_expected"`
	// UpdatesReceived counts deltas and snapshots applied in those windows.
	UpdatesReceived int64 `json:"updates_received"`
	// UpdatesDelivered is UpdatesReceived / UpdatesExpected (0 when nothing
	// was expected).
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
	ended := map[string]bool{}
	for i := range stats {
		s := &stats[i]
		latency.Merge(&s.Latency)
		join.Record(s.JoinTime)
		expected += float64(s.TickRate) * s.Connected.Seconds()
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
		r.CloseCodes[s.CloseCode]++
		if s.MatchEnd != nil {
			ended[s.RoomID] = true
		}
	}
	r.UpdatesExpected = int64(math.Round(expected))
	if r.UpdatesExpected > 0 {
		r.UpdatesDelivered = float64(r.UpdatesReceived) / float64(r.UpdatesExpected)
	}
	if seconds > 0 {
		r.BytesPerClientPerS = float64(wire) / seconds
		r.PayloadBytesPerClientPerS = float64(payload) / seconds
	}
	r.LatencyP50Ms = ms(latency.Quantile(0.50))
	r.LatencyP99Ms = ms(latency.Quantile(0.99))
	r.LatencyMaxMs = ms(latency.Max())
	r.JoinP50Ms = ms(join.Quantile(0.50))
	r.JoinP99Ms = ms(join.Quantile(0.99))
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
	fmt.Fprintf(tw, "clients joined\t%d (%d failed; join p50 %.1f ms, p99 %.1f ms)\n", r.ClientsJoined, r.JoinFailures, r.JoinP50Ms, r.JoinP99Ms)
	if r.FirstJoinError != "" {
		fmt.Fprintf(tw, "first join error\t%s\n", r.FirstJoinError)
	}
	fmt.Fprintf(tw, "updates\t%d of %d expected (%.2f%%), %d ticks missed\n",
		r.UpdatesReceived, r.UpdatesExpected, 100*r.UpdatesDelivered, r.FramesMissed)
	fmt.Fprintf(tw, "desyncs\t%d (%d resyncs, %d bad frames)\n", r.Desyncs, r.Resyncs, r.BadFrames)
	fmt.Fprintf(tw, "latency\tp50 %.2f ms, p99 %.2f ms, max %.2f ms\n", r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs)
	fmt.Fprintf(tw, "bytes/client/s\t%.0f on the wire, %.0f inflated\n", r.BytesPerClientPerS, r.PayloadBytesPerClientPerS)
	fmt.Fprintf(tw, "inputs\t%d sent, %d dropped\n", r.InputsSent, r.InputsDropped)
	fmt.Fprintf(tw, "matches ended\t%d\n", r.MatchesEnded)
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
