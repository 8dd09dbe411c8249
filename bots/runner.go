package bots

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// RunConfig configures a [Runner]. Zero fields take the documented defaults;
// only URL is required.
type RunConfig struct {
	// URL is the server's base address, e.g. ws://127.0.0.1:7350 (see
	// [Config.URL]).
	URL string
	// Rooms is the number of rooms. Default 1.
	Rooms int
	// Players is the number of bots per room. Default 1.
	Players int
	// Duration is how long the bots stay once every join has been tried
	// (after RampUp): the measured window. The run ends earlier when every
	// bot's match has ended or its connection closed, or when the context is
	// done. 0 means no time limit.
	Duration time.Duration
	// RampUp spreads the joins evenly over this long: bot k of n starts to
	// join k/n of the way through it. Default 0: as fast as JoinConcurrency
	// allows. The measured window starts when every join is done.
	RampUp time.Duration
	// Game names the game the bots play: "arena" (the default), "tanks" or
	// "connect4" (see [GameNames]). It picks the behaviours they may have;
	// the mirror and the checks are the same for every game. Without Seat
	// (open rooms) the bots name it in their joins ([Config.Game]), so the
	// rooms they create play it; not with NewBehaviour, where it only
	// names the run.
	Game string
	// Behaviour names every bot's behaviour among the game's (see
	// [BehaviourFor]). Default: the game's first ("random" for the arena).
	Behaviour string
	// NewBehaviour, if set, makes each bot's behaviour instead, from a seed
	// of its own: for a game of your own, whose behaviours bots does not
	// know. Game and Behaviour then only name the run in the report.
	NewBehaviour func(seed uint64) Behaviour
	// RoomPrefix names the rooms <RoomPrefix>-0 .. <RoomPrefix>-<Rooms-1>.
	// Bots are named bot-<room>-<n>. Default "bots".
	RoomPrefix string
	// InputRate is how many inputs per second each bot sends. Default 10;
	// negative sends none (a server may then close the bots as idle).
	InputRate float64
	// Seed makes the bots' random choices reproducible.
	Seed uint64
	// JoinConcurrency bounds how many joins are in flight at once. Default
	// 256: real clients do not wait for each other, so the bound is only
	// there to keep a run from opening sockets without limit, and must not
	// hold the joins of a ramp-up back (see [Report.JoinWaitMaxMs]).
	JoinConcurrency int
	// JoinTimeout bounds each join (see [Config.JoinTimeout]). Default 10 s.
	JoinTimeout time.Duration
	// LeaveTimeout is how long bots wait for the server to close after Leave
	// before closing themselves. Default 3 s.
	LeaveTimeout time.Duration
	// Seat, if set, gets bot n of room `room` its seat (a room id, a join
	// ticket and the node to connect to), e.g. from the lobby's API. Without it
	// bots join open rooms <RoomPrefix>-<room> at URL.
	Seat func(ctx context.Context, room, n int, name string) (Seat, error)
	// DisableCompression turns permessage-deflate off for every bot.
	DisableCompression bool
	// StatsURL is the server's stats endpoint, sampled before the first join
	// and at both ends of the measured window for the report's server
	// figures. Default: URL's host with http for ws (https for wss) and path
	// /v1/stats. With bots seated on several nodes it measures that one
	// node only. A server without it is no failure: the figures stay zero.
	StatsURL string
	// Progress, if set, receives a live one-line view of the run, refreshed
	// every second: clients connected, updates received and latency in the
	// last second, time elapsed. Meant for a terminal (it redraws the line);
	// nil shows nothing.
	Progress io.Writer
	// Logger receives the run's events. The zero value logs nothing.
	Logger zerolog.Logger
}

// inputSlots spreads the bots' inputs over this many phases of each input
// period, so that a thousand bots do not all send in the same millisecond.
const inputSlots = 10

const defaultJoinConcurrency = 256

func (c RunConfig) withDefaults() (RunConfig, error) {
	if c.URL == "" {
		return c, errors.New("bots: run config needs a server url")
	}
	if _, err := socketURL(c.URL); err != nil {
		return c, err
	}
	if c.Rooms < 0 || c.Players < 0 || c.Duration < 0 || c.RampUp < 0 {
		return c, fmt.Errorf("bots: rooms (%d), players (%d), duration (%s) and ramp-up (%s) must not be negative",
			c.Rooms, c.Players, c.Duration, c.RampUp)
	}
	if c.StatsURL == "" {
		u, err := statsURL(c.URL)
		if err != nil {
			return c, err
		}
		c.StatsURL = u
	}
	c.Rooms = max(c.Rooms, 1)
	c.Players = max(c.Players, 1)
	if c.Game == "" {
		c.Game = "arena"
	}
	if names := GameBehaviours(c.Game); c.Behaviour == "" && len(names) > 0 {
		c.Behaviour = names[0]
	}
	if c.NewBehaviour == nil {
		if _, err := BehaviourFor(c.Game, c.Behaviour, 0); err != nil {
			return c, fmt.Errorf("bots: %w", err)
		}
	}
	if c.RoomPrefix == "" {
		c.RoomPrefix = "bots"
	}
	if c.InputRate == 0 {
		c.InputRate = 10
	}
	if c.JoinConcurrency <= 0 {
		c.JoinConcurrency = defaultJoinConcurrency
	}
	if c.JoinTimeout <= 0 {
		c.JoinTimeout = defaultJoinTimeout
	}
	if c.LeaveTimeout <= 0 {
		c.LeaveTimeout = 3 * time.Second
	}
	return c, nil
}

// Runner runs Rooms × Players bots against a server and reports on them. After
// Run returns, Clients gives every bot that joined, so a test can compare each
// one's mirror and final scores with the server.
type Runner struct {
	cfg   RunConfig
	log   zerolog.Logger
	meter *meter // the bots' live totals, read by the monitor goroutine

	// mu guards clients, joinErrs and ran. Lock order: mu before a Client's
	// own lock.
	mu       sync.Mutex
	clients  []*Client // one slot per bot, room-major; nil until joined or if the join failed
	joinErrs []error
	// queueWaits are the matchmaking waits of bots seated through the lobby.
	queueWaits []time.Duration
	joins      []joinTiming // of the bots that joined
	ran        bool
}

// NewRunner validates cfg and returns a Runner.
func NewRunner(cfg RunConfig) (*Runner, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Runner{
		cfg:     cfg,
		log:     cfg.Logger.With().Str("component", "bots").Logger(),
		meter:   newMeter(),
		clients: make([]*Client, cfg.Rooms*cfg.Players),
	}, nil
}

// Run runs the bots with a fresh Runner; see [Runner.Run].
func Run(ctx context.Context, cfg RunConfig) (Report, error) {
	r, err := NewRunner(cfg)
	if err != nil {
		return Report{}, err
	}
	return r.Run(ctx)
}

// Run joins every bot (spread over RampUp), lets them play until Duration has
// passed (counted from the end of the joins), every match has ended or ctx is
// done, has them leave, and returns the report. A Runner runs once. Run's
// error is about the run itself (a second Run); faults of the server under
// test are in the report (see [Report.Failed]), and a done ctx ends the run
// early with a report of what ran.
//
// Besides gws's read loop per bot and, while joining, at most
// JoinConcurrency join workers, a run has two goroutines of its own: one
// sends every bot's inputs, and one samples the run each second for
// [Report.Series] and the progress display.
func (r *Runner) Run(ctx context.Context) (Report, error) {
	r.mu.Lock()
	if r.ran {
		r.mu.Unlock()
		return Report{}, errors.New("bots: runner already ran")
	}
	r.ran = true
	r.mu.Unlock()

	start := time.Now()
	r.log.Info().Str("url", r.cfg.URL).Int("rooms", r.cfg.Rooms).Int("players", r.cfg.Players).
		Str("game", r.cfg.Game).Str("behaviour", r.cfg.Behaviour).Dur("duration", r.cfg.Duration).Dur("ramp_up", r.cfg.RampUp).
		Msg("starting bots")

	var server serverSamples
	server.before = r.serverStats(ctx, &server)
	stopMonitor, series := make(chan struct{}), make(chan *Series, 1)
	go r.monitor(start, stopMonitor, series)
	stopInputs, inputsDone := make(chan struct{}), make(chan struct{})
	go r.sendInputs(stopInputs, inputsDone)

	r.joinAll(ctx, start)
	joined := r.Clients()
	windowStart := time.Now()
	cpuStart, updatesStart := processCPU(), r.meter.updates.Load()
	r.log.Info().Int("joined", len(joined)).Int("failed", len(r.JoinErrors())).
		Dur("join_phase", windowStart.Sub(start)).Msg("joins done")
	server.start = r.serverStats(ctx, &server)

	r.wait(ctx)
	windowEnd := time.Now()
	cpuEnd, updatesEnd := processCPU(), r.meter.updates.Load()
	server.end = r.serverStats(ctx, &server)
	close(stopInputs)
	<-inputsDone
	r.leave(joined)
	close(stopMonitor)

	stats := make([]Stats, len(joined))
	for i, c := range joined {
		stats[i] = c.Stats()
	}
	rep := NewReport(stats, r.JoinErrors(), time.Since(start))
	r.mu.Lock()
	rep.addQueueWaits(r.queueWaits)
	rep.addJoins(r.joins, start)
	r.mu.Unlock()
	rep.addBotsCPU(cpuEnd-cpuStart, updatesEnd-updatesStart, windowEnd.Sub(windowStart))
	rep.Rooms, rep.PlayersPerRoom, rep.Game, rep.Behaviour = r.cfg.Rooms, r.cfg.Players, r.cfg.Game, r.cfg.Behaviour
	rep.Clients = r.cfg.Rooms * r.cfg.Players
	rep.RampUpS = r.cfg.RampUp.Seconds()
	rep.MeasureS = windowEnd.Sub(windowStart).Seconds()
	rep.addServerStats(server)
	rep.Series = <-series
	rep.Series.WindowStartS = round3(windowStart.Sub(start).Seconds())
	rep.Series.WindowEndS = round3(windowEnd.Sub(start).Seconds())
	r.log.Info().Int("joined", rep.ClientsJoined).Int64("desyncs", rep.Desyncs).
		Float64("delivery_ratio", rep.DeliveryRatio).Float64("server_cpu_us_per_client_update", rep.ServerCPUUsPerClientUpdate).
		Float64("bots_cpu_us_per_client_update", rep.BotsCPUUsPerClientUpdate).Float64("joins_per_s", rep.JoinsPerS).
		Msg("bots done")
	return rep, nil
}

// serverStats fetches the server's stats, even when ctx is done (the run is
// being cut short but is still reported). A failure is logged and kept in
// samples.err (the first one); it returns nil then.
func (r *Runner) serverStats(ctx context.Context, samples *serverSamples) *serverStats {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statsTimeout)
	defer cancel()
	s, err := fetchServerStats(ctx, http.DefaultClient, r.cfg.StatsURL)
	if err != nil {
		if samples.err == nil {
			r.log.Warn().Err(err).Msg("server stats unavailable; the report leaves the server figures out")
			samples.err = err
		}
		return nil
	}
	return s
}

// monitor is the run's watcher goroutine: every second it samples the bots'
// meter into the series and refreshes the progress display. When stop is
// closed it records the last interval and sends the series.
func (r *Runner) monitor(start time.Time, stop <-chan struct{}, out chan<- *Series) {
	rec := newRecorder(r.meter, start)
	var display *progressDisplay
	if r.cfg.Progress != nil {
		total := time.Duration(0)
		if r.cfg.Duration > 0 {
			total = r.cfg.RampUp + r.cfg.Duration
		}
		display = newProgressDisplay(r.cfg.Progress, total, len(r.clients))
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			p := rec.sample(now)
			if display != nil {
				display.update(p)
			}
		case <-stop:
			p := rec.finish(time.Now())
			if display != nil {
				display.finish(p)
			}
			out <- &rec.series
			return
		}
	}
}

// Clients returns the bots that joined, in room-major order (room 0's bots
// first). Each keeps its mirror, stats and match result after Run.
func (r *Runner) Clients() []*Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Client, 0, len(r.clients))
	for _, c := range r.clients {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// JoinErrors returns the errors of the joins that failed.
func (r *Runner) JoinErrors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.joinErrs...)
}

// joinJob is bot k, due to start joining at due.
type joinJob struct {
	k   int
	due time.Time
}

// joinAll joins every bot with at most JoinConcurrency joins in flight,
// starting them evenly over RampUp from start. Joins not started because ctx
// is done are not counted as failures.
func (r *Runner) joinAll(ctx context.Context, start time.Time) {
	var pace *time.Timer
	if r.cfg.RampUp > 0 {
		pace = time.NewTimer(0)
		defer pace.Stop()
	}
	jobs := make(chan joinJob)
	var wg sync.WaitGroup
	for range min(r.cfg.JoinConcurrency, len(r.clients)) {
		wg.Go(func() {
			for j := range jobs {
				r.joinOne(ctx, j)
			}
		})
	}
feed:
	for k := range r.clients {
		due := start
		if pace != nil {
			due = start.Add(r.cfg.RampUp * time.Duration(k) / time.Duration(len(r.clients)))
			pace.Reset(time.Until(due))
			select {
			case <-pace.C:
			case <-ctx.Done():
				break feed
			}
		}
		select {
		case jobs <- joinJob{k: k, due: due}:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
}

func (r *Runner) joinOne(ctx context.Context, job joinJob) {
	k, began := job.k, time.Now()
	timing := joinTiming{wait: max(began.Sub(job.due), 0)}
	room, n := k/r.cfg.Players, k%r.cfg.Players
	roomID := fmt.Sprintf("%s-%d", r.cfg.RoomPrefix, room)
	name := fmt.Sprintf("bot-%d-%d", room, n)
	seed := r.cfg.Seed + uint64(k)*0x9e3779b97f4a7c15
	var behaviour Behaviour
	var err error
	if r.cfg.NewBehaviour != nil {
		behaviour = r.cfg.NewBehaviour(seed)
	} else {
		behaviour, err = BehaviourFor(r.cfg.Game, r.cfg.Behaviour, seed)
	}
	if err != nil {
		r.joinFailed(ctx, fmt.Errorf("bot %s: %w", name, err))
		return
	}
	cfg := Config{
		URL:                r.cfg.URL,
		RoomID:             roomID,
		Name:               name,
		Behaviour:          behaviour,
		JoinTimeout:        r.cfg.JoinTimeout,
		DisableCompression: r.cfg.DisableCompression,
		Logger:             r.cfg.Logger,
		meter:              r.meter,
	}
	if r.cfg.Seat == nil && r.cfg.NewBehaviour == nil {
		cfg.Game = r.cfg.Game
	}
	if r.cfg.Seat != nil {
		seat, err := r.cfg.Seat(ctx, room, n, name)
		timing.seat = time.Since(began)
		if err != nil {
			r.joinFailed(ctx, fmt.Errorf("seat for %s: %w", name, err))
			return
		}
		cfg.RoomID, cfg.Ticket = seat.RoomID, seat.Ticket
		if seat.URL != "" {
			cfg.URL = seat.URL
		}
		cfg.Account = seat.Player
		r.mu.Lock()
		r.queueWaits = append(r.queueWaits, seat.QueueWait)
		r.mu.Unlock()
	}
	c, err := Dial(ctx, cfg)
	if err != nil {
		r.joinFailed(ctx, err)
		return
	}
	if f, ok := behaviour.(Fitter); ok {
		if err := f.Fits(c.Schema()); err != nil {
			_ = c.Leave()
			r.joinFailed(ctx, fmt.Errorf("bot %s in room %s: %w", name, cfg.RoomID, err))
			return
		}
	}
	timing.done = time.Now()
	timing.join = timing.done.Sub(began)
	r.mu.Lock()
	r.clients[k] = c
	r.joins = append(r.joins, timing)
	r.mu.Unlock()
	r.meter.joined.Add(1)
}

func (r *Runner) joinFailed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // the run is over; this join was cut short, not refused
	}
	r.log.Warn().Err(err).Msg("join failed")
	r.mu.Lock()
	r.joinErrs = append(r.joinErrs, err)
	r.mu.Unlock()
}

// sendInputs is the one goroutine that drives every bot's Behaviour: each tick
// it lets one slot in inputSlots of the bots act.
func (r *Runner) sendInputs(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	if r.cfg.InputRate < 0 {
		<-stop
		return
	}
	t := time.NewTicker(time.Duration(float64(time.Second) / r.cfg.InputRate / inputSlots))
	defer t.Stop()
	for slot := 0; ; slot = (slot + 1) % inputSlots {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := time.Now()
		r.mu.Lock()
		for i := slot; i < len(r.clients); i += inputSlots {
			if c := r.clients[i]; c != nil {
				_ = c.Act(now) // a dropped input is counted in the client's stats
			}
		}
		r.mu.Unlock()
	}
}

// wait returns when Duration has passed, ctx is done, or no bot has a match
// left to play. It reads the meter, not the bots: it locks none of them.
func (r *Runner) wait(ctx context.Context) {
	var deadline <-chan time.Time
	if r.cfg.Duration > 0 {
		t := time.NewTimer(r.cfg.Duration)
		defer t.Stop()
		deadline = t.C
	}
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for r.meter.playing.Load() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			return
		case <-poll.C:
		}
	}
}

// leave ends every bot's measured window, sends Leave, waits up to
// LeaveTimeout for the server to close the connections and then closes the
// rest itself.
func (r *Runner) leave(clients []*Client) {
	now := time.Now()
	for _, c := range clients {
		c.stop(now)
		if err := c.Leave(); err != nil {
			_ = c.Close()
		}
	}
	if awaitClosed(clients, r.cfg.LeaveTimeout) {
		return
	}
	for _, c := range clients {
		_ = c.Close()
	}
	if !awaitClosed(clients, time.Second) {
		r.log.Warn().Msg("some bot connections did not close")
	}
}

func awaitClosed(clients []*Client, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for _, c := range clients {
		select {
		case <-c.Done():
		case <-t.C:
			return false
		}
	}
	return true
}
