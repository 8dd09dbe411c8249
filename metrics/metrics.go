// Package metrics exports a Tickwire node's counters in the Prometheus
// exposition format, for Prometheus, Grafana Agent, Agones and the like.
//
// Nothing is counted twice: a [Collector] reads the game server's and the
// lobby's own counters when it is scraped, so the hot paths pay nothing for
// Prometheus. Every numeric field of [netcode.Stats] and [lobby.Stats] becomes
// a metric named tickwire_<json name> (counters get a _total suffix), found by
// reflection, so a counter added there is exported without a change here;
// [Gauges] lists the fields that are gauges.
package metrics

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
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

// Gauges are the json names of the Stats fields that are levels, not counts.
// Every other numeric field is a counter.
var Gauges = map[string]bool{
	"connections":     true,
	"rooms":           true,
	"pending_frames":  true,
	"pending_bytes":   true,
	"max_rooms":       true,
	"rate_limit_keys": true,
	"spectators":      true,
}

// help explains the fields whose json name alone says too little.
var help = map[string]string{
	"connections":              "Game connections open now.",
	"connections_total":        "Game connections accepted.",
	"rooms":                    "Rooms running now.",
	"spectators":               "Spectators (joins with no seat) watching now.",
	"spectators_total":         "Spectator joins accepted.",
	"rooms_created":            "Rooms created.",
	"frames_out":               "Frames written to clients in full (state frames and others).",
	"state_frames_out":         "Welcome, delta and snapshot frames written in full: client-updates delivered.",
	"bytes_out":                "Bytes written to game sockets.",
	"frames_dropped":           "Queued frames dropped for clients that fell behind.",
	"lagged":                   "Times a client fell behind and stopped getting the shared frame.",
	"resyncs":                  "Catch-up deltas or snapshots sent to clients that fell behind or asked.",
	"slow_consumers":           "Clients dropped for staying behind too long.",
	"errors":                   "Connections closed with an Error frame.",
	"inputs_dropped":           "Client inputs dropped because a room's input queue was full.",
	"panics":                   "Connections closed with 1011 because their read or write goroutine panicked.",
	"protocol_errors":          "Connections closed with 1002 or 1007 for breaking the WebSocket protocol (RFC 6455, 7692).",
	"pending_frames":           "Frames queued for clients now.",
	"pending_bytes":            "Bytes of frames queued for clients now.",
	"matches_ended":            "Matches of this node's rooms that ended and were queued for the leaderboards.",
	"leaderboard_submissions":  "Scores written to leaderboards, from match results and the API.",
	"max_rooms":                "Rooms this node runs at most (--max-rooms; 0: no limit).",
	"rooms_refused":            "Rooms not started because the node ran --max-rooms rooms.",
	"api_rate_limited":         "Lobby API requests refused 429 rate_limited by the per-address limit (--api-rate).",
	"join_code_rate_limited":   "Join-by-code requests refused 429 rate_limited (--join-code-rate).",
	"room_create_rate_limited": "Room creations refused 429 rate_limited (--room-create-rate).",
	"rate_limit_keys":          "Client addresses (and players) the lobby's rate limits track now.",
	"rate_limit_evictions":     "Rate-limit keys forgotten early because a table was full.",
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
	game     []field
	lobby    []field
	ticks    *prometheus.Desc
	overruns *prometheus.Desc
	skipped  *prometheus.Desc
	tickHist *prometheus.Desc
	queue    *prometheus.Desc
	waitHist *prometheus.Desc
	draining *prometheus.Desc
}

// field is one numeric struct field exported as a metric.
type field struct {
	index int
	desc  *prometheus.Desc
	vt    prometheus.ValueType
}

// NewCollector builds the collector and its descriptors.
func NewCollector(src Sources) *Collector {
	d := func(name, h string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_"+name, h, labels, nil)
	}
	c := &Collector{
		src:      src,
		game:     structFields(reflect.TypeFor[netcode.Stats](), "netcode.Stats"),
		ticks:    d("ticks_total", "Room ticks run, ended rooms included."),
		overruns: d("tick_overruns_total", "Room ticks that took longer than the tick interval."),
		skipped:  d("tick_slots_skipped_total", "Tick slots skipped by the catch-up bound after a room stalled."),
		tickHist: d("tick_duration_seconds", "Duration of room ticks (apply inputs, step, encode and send)."),
		draining: d("draining", "1 while the node drains for shutdown: it takes no new players."),
	}
	if src.Lobby != nil {
		c.lobby = structFields(reflect.TypeFor[lobby.Stats](), "lobby.Stats")
		c.queue = d("matchmaking_queue_tickets", "Matchmaking tickets queued now, by mode (the cluster's queue).", "mode")
		c.waitHist = d("matchmaking_wait_seconds", "How long matched tickets waited in the queue, by mode (tickets this node's matcher placed).", "mode")
	}
	return c
}

// structFields lists the numeric fields of a Stats struct as metrics.
func structFields(t reflect.Type, origin string) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" || !numeric(f.Type.Kind()) {
			continue
		}
		if name == "" {
			name = f.Name
		}
		h := help[name]
		if h == "" {
			h = origin + "." + f.Name + " (see its documentation)."
		}
		fd := field{index: i, vt: prometheus.CounterValue}
		metric := name
		if Gauges[name] {
			fd.vt = prometheus.GaugeValue
		} else if !strings.HasSuffix(metric, "_total") {
			metric += "_total"
		}
		fd.desc = prometheus.NewDesc(Namespace+"_"+metric, h, nil, nil)
		out = append(out, fd)
	}
	return out
}

func numeric(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func value(v reflect.Value) float64 {
	switch {
	case v.CanInt():
		return float64(v.Int())
	case v.CanUint():
		return float64(v.Uint())
	}
	return v.Float()
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range append(c.game, c.lobby...) {
		ch <- f.desc
	}
	for _, d := range []*prometheus.Desc{c.ticks, c.overruns, c.skipped, c.tickHist, c.draining, c.queue, c.waitHist} {
		if d != nil {
			ch <- d
		}
	}
}

// Collect implements prometheus.Collector; it reads the counters now.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	emit(ch, c.game, reflect.ValueOf(c.src.Game.Stats()))
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
		emit(ch, c.lobby, reflect.ValueOf(l.Stats()))
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

func emit(ch chan<- prometheus.Metric, fields []field, v reflect.Value) {
	for _, f := range fields {
		ch <- prometheus.MustNewConstMetric(f.desc, f.vt, value(v.Field(f.index)))
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
