// Package metrics exports a Tickwire node's counters in the Prometheus
// exposition format, for Prometheus, Grafana Agent, Agones and the like.
//
// Nothing is counted twice: a [Collector] reads the game server's and the
// lobby's own counters when it is scraped, so the hot paths pay nothing for
// Prometheus. Each series is a row of a table here (gameMetrics,
// lobbyMetrics): its name, type, help and the Stats field it reads, so
// renaming a Stats field or its JSON name never renames a series a
// dashboard depends on; a test fails when a numeric Stats field has no row.
package metrics

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/tickwire/tickwire/internal/timing"
	"github.com/tickwire/tickwire/lobby"
	"github.com/tickwire/tickwire/netcode"
)

// Namespace prefixes every metric name.
const Namespace = "tickwire"

// A metric is one series read from a Stats snapshot of type S.
type metric[S any] struct {
	name string // after "tickwire_"; counters end in _total
	typ  prometheus.ValueType
	help string
	read func(S) float64
}

const (
	counter = prometheus.CounterValue
	gauge   = prometheus.GaugeValue
)

// gameMetrics are the game server's series, read from [netcode.Stats].
var gameMetrics = []metric[netcode.Stats]{
	{"connections", gauge, "Game connections open now.", func(s netcode.Stats) float64 { return float64(s.Connections) }},
	{"connections_total", counter, "Game connections accepted.", func(s netcode.Stats) float64 { return float64(s.ConnectionsTotal) }},
	{"rooms", gauge, "Rooms running now.", func(s netcode.Stats) float64 { return float64(s.Rooms) }},
	{"rooms_created_total", counter, "Rooms created.", func(s netcode.Stats) float64 { return float64(s.RoomsCreated) }},
	{"max_rooms", gauge, "Rooms this node runs at most (--max-rooms; 0: no limit).", func(s netcode.Stats) float64 { return float64(s.MaxRooms) }},
	{"rooms_refused_total", counter, "Rooms not started because the node ran --max-rooms rooms.", func(s netcode.Stats) float64 { return float64(s.RoomsRefused) }},
	{"frames_out_total", counter, "Frames written to clients in full (state frames and others).", func(s netcode.Stats) float64 { return float64(s.FramesOut) }},
	{"state_frames_out_total", counter, "Welcome, delta and snapshot frames written in full: client-updates delivered.", func(s netcode.Stats) float64 { return float64(s.StateFramesOut) }},
	{"bytes_out_total", counter, "Bytes written to game sockets.", func(s netcode.Stats) float64 { return float64(s.BytesOut) }},
	{"frames_dropped_total", counter, "Queued frames dropped for clients that fell behind.", func(s netcode.Stats) float64 { return float64(s.FramesDropped) }},
	{"lagged_total", counter, "Times a client fell behind and stopped getting the shared frame.", func(s netcode.Stats) float64 { return float64(s.Lagged) }},
	{"resyncs_total", counter, "Catch-up deltas or snapshots sent to clients that fell behind or asked.", func(s netcode.Stats) float64 { return float64(s.Resyncs) }},
	{"slow_consumers_total", counter, "Clients dropped for staying behind too long.", func(s netcode.Stats) float64 { return float64(s.SlowConsumers) }},
	{"errors_total", counter, "Connections closed with an Error frame.", func(s netcode.Stats) float64 { return float64(s.Errors) }},
	{"inputs_dropped_total", counter, "Client inputs dropped because a room's input queue was full.", func(s netcode.Stats) float64 { return float64(s.InputsDropped) }},
	{"chat_dropped_total", counter, "Chat lines dropped over a player's chat rate.", func(s netcode.Stats) float64 { return float64(s.ChatDropped) }},
	{"seats_held_total", counter, "Players whose connection dropped and whose seat was held for the rejoin grace.", func(s netcode.Stats) float64 { return float64(s.SeatsHeld) }},
	{"rejoins_total", counter, "Players who took back a held (or still open) seat.", func(s netcode.Stats) float64 { return float64(s.Rejoins) }},
	{"seats_expired_total", counter, "Held seats freed because the rejoin grace passed.", func(s netcode.Stats) float64 { return float64(s.SeatsExpired) }},
	{"spectators", gauge, "Spectators (joins with no seat) watching now.", func(s netcode.Stats) float64 { return float64(s.Spectators) }},
	{"spectators_total", counter, "Spectator joins accepted.", func(s netcode.Stats) float64 { return float64(s.SpectatorsTotal) }},
	{"spectators_refused_total", counter, "Spectators turned away over --max-spectators (SPECTATORS_FULL).", func(s netcode.Stats) float64 { return float64(s.SpectatorsRefused) }},
	{"spectator_frames_refused_total", counter, "Inputs, game messages and chat lines from spectators, refused with ERROR_CODE_SPECTATOR.", func(s netcode.Stats) float64 { return float64(s.SpectatorFramesRefused) }},
	{"write_timeouts_total", counter, "Connections dropped because one socket write blocked for the write timeout.", func(s netcode.Stats) float64 { return float64(s.WriteTimeouts) }},
	{"panics_total", counter, "Connections closed with 1011 because their read or write goroutine panicked.", func(s netcode.Stats) float64 { return float64(s.Panics) }},
	{"pending_frames", gauge, "Frames queued for clients now.", func(s netcode.Stats) float64 { return float64(s.PendingFrames) }},
	{"pending_bytes", gauge, "Bytes of frames queued for clients now.", func(s netcode.Stats) float64 { return float64(s.PendingBytes) }},
	{"frames_in_total", counter, "Client frames read: messages, fragments, pings and pongs.", func(s netcode.Stats) float64 { return float64(s.FramesIn) }},
	{"frames_rate_limited_total", counter, "Client frames dropped over the per-connection frame rate.", func(s netcode.Stats) float64 { return float64(s.FramesRateLimited) }},
	{"rate_limited_conns_total", counter, "Connections closed with RATE_LIMITED.", func(s netcode.Stats) float64 { return float64(s.RateLimitedConns) }},
	{"frames_too_large_total", counter, "Connections closed for a frame or message over the read limit.", func(s netcode.Stats) float64 { return float64(s.FramesTooLarge) }},
	{"protocol_errors_total", counter, "Connections closed with 1002 or 1007 for breaking the WebSocket protocol (RFC 6455, 7692).", func(s netcode.Stats) float64 { return float64(s.ProtocolErrors) }},
	{"handshake_timeouts_total", counter, "Connections closed with HANDSHAKE_TIMEOUT.", func(s netcode.Stats) float64 { return float64(s.HandshakeTimeouts) }},
	{"refused_per_ip_total", counter, "Upgrades refused 429 over the per-address connection limit.", func(s netcode.Stats) float64 { return float64(s.RefusedPerIP) }},
	{"refused_origin_total", counter, "Upgrades refused 403 by the Origin allowlist.", func(s netcode.Stats) float64 { return float64(s.RefusedOrigin) }},
}

// lobbyMetrics are the lobby's series, read from [lobby.Stats].
var lobbyMetrics = []metric[lobby.Stats]{
	{"matches_ended_total", counter, "Matches of this node's rooms that ended and were queued for the leaderboards.", func(s lobby.Stats) float64 { return float64(s.MatchesEnded) }},
	{"match_results_dropped_total", counter, "Match results not credited to the leaderboards because their queue was full.", func(s lobby.Stats) float64 { return float64(s.MatchResultsDropped) }},
	{"leaderboard_submissions_total", counter, "Scores written to leaderboards, from match results and the API.", func(s lobby.Stats) float64 { return float64(s.LeaderboardSubmissions) }},
	{"leaderboard_submit_errors_total", counter, "Leaderboard writes that failed.", func(s lobby.Stats) float64 { return float64(s.LeaderboardSubmitErrors) }},
	{"tickets_matched_total", counter, "Matchmaking tickets placed in a room by this node's matcher.", func(s lobby.Stats) float64 { return float64(s.TicketsMatched) }},
	{"api_rate_limited_total", counter, "Lobby API requests refused 429 rate_limited by the per-address limit (--api-rate).", func(s lobby.Stats) float64 { return float64(s.APIRateLimited) }},
	{"join_code_rate_limited_total", counter, "Join-by-code requests refused 429 rate_limited (--join-code-rate).", func(s lobby.Stats) float64 { return float64(s.JoinCodeRateLimited) }},
	{"room_create_rate_limited_total", counter, "Room creations refused 429 rate_limited (--room-create-rate).", func(s lobby.Stats) float64 { return float64(s.RoomCreateRateLimited) }},
	{"rate_limit_keys", gauge, "Client addresses (and players) the lobby's rate limits track now.", func(s lobby.Stats) float64 { return float64(s.RateLimitKeys) }},
	{"rate_limit_evictions_total", counter, "Rate-limit keys forgotten early because a table was full.", func(s lobby.Stats) float64 { return float64(s.RateLimitEvictions) }},
}

// Sources are what a Collector reads. Game is required; Lobby may be nil.
type Sources struct {
	Game  *netcode.Server
	Lobby *lobby.Lobby
	// Log receives scrape problems (a queue that does not answer). Default: none.
	Log zerolog.Logger
}

// Collector is a prometheus.Collector of a node's metrics, read at scrape time.
type Collector struct {
	src      Sources
	game     []*prometheus.Desc // gameMetrics' descriptors, in order
	lobby    []*prometheus.Desc // lobbyMetrics', when there is a lobby
	ticks    *prometheus.Desc
	overruns *prometheus.Desc
	skipped  *prometheus.Desc
	tickHist *prometheus.Desc
	queue    *prometheus.Desc
	waitHist *prometheus.Desc
	draining *prometheus.Desc
}

// NewCollector builds the collector and its descriptors.
func NewCollector(src Sources) *Collector {
	d := func(name, h string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_"+name, h, labels, nil)
	}
	c := &Collector{
		src:      src,
		game:     descs(gameMetrics),
		ticks:    d("ticks_total", "Room ticks run, ended rooms included."),
		overruns: d("tick_overruns_total", "Room ticks that took longer than the tick interval."),
		skipped:  d("tick_slots_skipped_total", "Tick slots skipped by the catch-up bound after a room stalled."),
		tickHist: d("tick_duration_seconds", "Duration of room ticks (apply inputs, step, encode and send)."),
		draining: d("draining", "1 while the node drains for shutdown: it takes no new players."),
	}
	if src.Lobby != nil {
		c.lobby = descs(lobbyMetrics)
		c.queue = d("matchmaking_queue_tickets", "Matchmaking tickets queued now, by mode (the cluster's queue).", "mode")
		c.waitHist = d("matchmaking_wait_seconds", "How long matched tickets waited in the queue, by mode (tickets this node's matcher placed).", "mode")
	}
	return c
}

func descs[S any](table []metric[S]) []*prometheus.Desc {
	out := make([]*prometheus.Desc, len(table))
	for i, m := range table {
		out[i] = prometheus.NewDesc(Namespace+"_"+m.name, m.help, nil, nil)
	}
	return out
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range append(c.game, c.lobby...) {
		ch <- d
	}
	for _, d := range []*prometheus.Desc{c.ticks, c.overruns, c.skipped, c.tickHist, c.draining, c.queue, c.waitHist} {
		if d != nil {
			ch <- d
		}
	}
}

// Collect implements prometheus.Collector; it reads the counters now.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	emit(ch, c.game, gameMetrics, c.src.Game.Stats())
	ts := c.src.Game.TickStats()
	ch <- prometheus.MustNewConstMetric(c.ticks, prometheus.CounterValue, float64(ts.Ticks))
	ch <- prometheus.MustNewConstMetric(c.overruns, prometheus.CounterValue, float64(ts.Overruns))
	ch <- prometheus.MustNewConstMetric(c.skipped, prometheus.CounterValue, float64(ts.Skipped))
	if ts.Histogram.Counts == nil {
		ts.Histogram = timing.NewHistogram(timing.TickBuckets...).Snapshot()
	}
	ch <- histogram(c.tickHist, ts.Histogram)
	draining := c.src.Game.Draining()
	if l := c.src.Lobby; l != nil {
		draining = draining || l.Draining()
		emit(ch, c.lobby, lobbyMetrics, l.Stats())
		c.collectQueue(ch, l)
	}
	ch <- prometheus.MustNewConstMetric(c.draining, prometheus.GaugeValue, b2f(draining))
}

func (c *Collector) collectQueue(ch chan<- prometheus.Metric, l *lobby.Lobby) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sizes, err := l.QueueSizes(ctx)
	if err != nil {
		c.src.Log.Warn().Err(err).Msg("metrics: matchmaking queue sizes unavailable")
	}
	for mode, n := range sizes {
		ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(n), mode)
	}
	for mode, h := range l.MatchWaits() {
		ch <- histogram(c.waitHist, h, mode)
	}
}

func emit[S any](ch chan<- prometheus.Metric, d []*prometheus.Desc, table []metric[S], s S) {
	for i, m := range table {
		ch <- prometheus.MustNewConstMetric(d[i], m.typ, m.read(s))
	}
}

// histogram turns a snapshot's per-bucket counts into Prometheus's
// cumulative buckets.
func histogram(d *prometheus.Desc, s timing.Snapshot, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(s.Bounds))
	var cum uint64
	for i, b := range s.Bounds {
		cum += s.Counts[i]
		buckets[b.Seconds()] = cum
	}
	return prometheus.MustNewConstHistogram(d, s.Count(), s.Sum.Seconds(), buckets, labels...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// NewRegistry returns a registry with the node's collector and the standard
// process and Go runtime collectors.
func NewRegistry(src Sources) *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(NewCollector(src),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector())
	return r
}

// Handler serves the node's metrics for GET /metrics.
func Handler(src Sources) http.Handler {
	return promhttp.HandlerFor(NewRegistry(src), promhttp.HandlerOpts{ErrorLog: logAdapter{src.Log}})
}

// logAdapter gives promhttp's error log to zerolog.
type logAdapter struct{ l zerolog.Logger }

func (a logAdapter) Println(v ...any) {
	a.l.Error().Str("component", "metrics").Msg(fmt.Sprint(v...))
}
