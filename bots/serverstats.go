package bots

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"time"
)

// statsPath is where a Tickwire server reports its counters, under its HTTP
// base URL.
const statsPath = "/v1/stats"

// statsTimeout bounds one fetch of the server's stats.
const statsTimeout = 2 * time.Second

// serverStats is the part of a server's GET /v1/stats answer the runner
// reads. Counters are totals since the server started.
type serverStats struct {
	Connections    int64   `json:"connections"`
	Rooms          int64   `json:"rooms"`
	CPUSeconds     float64 `json:"cpu_seconds"` // process user + system CPU
	RSSBytes       int64   `json:"rss_bytes"`
	StateFramesOut int64   `json:"state_frames_out"` // client-updates delivered
	BytesOut       int64   `json:"bytes_out"`
	FramesDropped  int64   `json:"frames_dropped"`
	Resyncs        int64   `json:"resyncs"`
	SlowConsumers  int64   `json:"slow_consumers"`
	Ticks          int64   `json:"ticks"`
	// Tick durations over every room's recent ticks.
	TickP50Ms    float64 `json:"tick_p50_ms"`
	TickP99Ms    float64 `json:"tick_p99_ms"`
	TickMaxMs    float64 `json:"tick_max_ms"`
	TickOverruns int64   `json:"tick_overruns"`
	UptimeS      float64 `json:"uptime_s"`
}

// statsURL returns the stats endpoint of the server at base, a ws or http
// base URL: ws://host:7350 gives http://host:7350/v1/stats.
func statsURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("bots: server url %q: %w", base, err)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("bots: server url %q: scheme must be ws, wss, http or https", base)
	}
	if u.Host == "" {
		return "", fmt.Errorf("bots: server url %q has no host", base)
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = statsPath, "", "", ""
	return u.String(), nil
}

// fetchServerStats reads a server's stats endpoint.
func fetchServerStats(ctx context.Context, client *http.Client, u string) (*serverStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("server stats: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("server stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("server stats: GET %s: %s", u, resp.Status)
	}
	var s serverStats
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&s); err != nil {
		return nil, fmt.Errorf("server stats: GET %s: %w", u, err)
	}
	return &s, nil
}

// serverSamples are the server's stats at the three moments of a run: before
// the first join, when the measured window starts and when it ends. A sample
// that could not be read is nil, and err says why.
type serverSamples struct {
	before, start, end *serverStats
	err                error
}

// addServerStats fills in the report's server figures from the samples:
// those whose samples are missing stay zero.
func (r *Report) addServerStats(s serverSamples) {
	if s.err != nil {
		r.ServerStatsError = s.err.Error()
	}
	if s.end == nil {
		return
	}
	e := s.end
	r.ServerRSSBytes = e.RSSBytes
	r.TickP50Ms, r.TickP99Ms, r.TickMaxMs, r.TickOverruns = e.TickP50Ms, e.TickP99Ms, e.TickMaxMs, e.TickOverruns
	if b := s.start; b != nil {
		r.TickOverruns = e.TickOverruns - b.TickOverruns
		r.ServerCPUSeconds = e.CPUSeconds - b.CPUSeconds
		r.ServerStateFramesOut = e.StateFramesOut - b.StateFramesOut
		r.ServerFramesDropped = e.FramesDropped - b.FramesDropped
		r.ServerSlowConsumers = e.SlowConsumers - b.SlowConsumers
		if r.ServerStateFramesOut > 0 {
			r.ServerCPUUsPerClientUpdate = r.ServerCPUSeconds * 1e6 / float64(r.ServerStateFramesOut)
		}
	}
	if a := s.before; a != nil && r.ClientsJoined > 0 {
		r.ServerRSSBytesPerClient = int64(math.Round(float64(e.RSSBytes-a.RSSBytes) / float64(r.ClientsJoined)))
	}
}
