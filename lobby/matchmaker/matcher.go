package matchmaker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
)

// LockName is the Queue lock a Matcher holds while it runs a pass, so only one
// node matches at a time.
const LockName = "matchmaker"

// Config configures a Matcher. Queue, Modes and Place are required.
type Config struct {
	Queue Queue
	// Modes looks a mode up by name. Tickets of an unknown mode are left
	// queued (until MaxWait expires them) and logged.
	Modes func(name string) (Mode, bool)
	// Open lists the running rooms of a mode that can take backfill, in the
	// order they should be filled. Nil means no backfill.
	Open func(ctx context.Context, mode string) ([]OpenRoom, error)
	// Place is called for each group: it picks or creates the room and node
	// and returns the Assignment, with join tickets, to store. For a backfill
	// group the Matcher sets Backfill, and RoomID if Place left it empty. It
	// is called for up to Parallel groups at once. An error drops the group
	// for this pass; its tickets stay queued.
	Place func(ctx context.Context, g Group) (Assignment, error)
	// Release, if set, is called when a placed group could not be stored
	// because one of its tickets left the queue meanwhile (its other tickets
	// stay queued), so the room Place reserved can be freed. It is not called
	// when Assign fails otherwise: the write may have happened.
	Release func(ctx context.Context, g Group, a Assignment)
	// Matched, if set, is called for every ticket of a group once it is
	// stored as matched, with how long the ticket waited in the queue (for
	// a wait-time histogram). It must not block.
	Matched func(mode string, waited time.Duration)
	// Interval is the time between passes. Default 1s.
	Interval time.Duration
	// MaxWait is how long a ticket may stay queued before a pass marks it
	// Expired. Default 5m; negative: never.
	MaxWait time.Duration
	// Parallel is how many groups are placed at once. Default 8.
	Parallel int
	// Owner is this node's id, for the lock. Default: a random UUID.
	Owner  string
	Logger zerolog.Logger
}

// Stats describes one pass.
type Stats struct {
	Tickets  int // queued tickets seen
	Expired  int // tickets marked Expired
	Groups   int // groups formed by Match
	Matched  int // tickets assigned
	Skipped  int // groups dropped because a ticket left the queue meanwhile
	Failed   int // groups dropped because Place or Assign failed
	Duration time.Duration
}

// Matcher runs matching passes over a Queue. Its methods are safe for
// concurrent use, though one Run per Matcher is the intended use.
type Matcher struct {
	cfg Config // defaults applied; read-only after New
	log zerolog.Logger
}

// New returns a Matcher. It panics if Queue, Modes or Place is nil.
func New(cfg Config) *Matcher {
	switch {
	case cfg.Queue == nil:
		panic("matchmaker: Config.Queue is nil")
	case cfg.Modes == nil:
		panic("matchmaker: Config.Modes is nil")
	case cfg.Place == nil:
		panic("matchmaker: Config.Place is nil")
	}
	cfg.Interval = cmp.Or(cfg.Interval, time.Second)
	cfg.MaxWait = cmp.Or(cfg.MaxWait, 5*time.Minute)
	cfg.Parallel = cmp.Or(cfg.Parallel, 8)
	cfg.Owner = cmp.Or(cfg.Owner, uuid.NewString())
	return &Matcher{cfg: cfg, log: cfg.Logger.With().Str("component", "matchmaker").Str("node", cfg.Owner).Logger()}
}

// Run runs a pass every Interval while this node holds the lock LockName
// (taken, or extended, for 3×Interval before each pass), until ctx ends. It
// then releases the lock and returns nil. Errors of a pass are logged.
func (m *Matcher) Run(ctx context.Context) error {
	tick := time.NewTicker(m.cfg.Interval)
	defer tick.Stop()
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		if err := m.cfg.Queue.Unlock(uctx, LockName, m.cfg.Owner); err != nil {
			m.log.Warn().Err(err).Msg("release matcher lock")
		}
	}()
	for {
		m.pass(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (m *Matcher) pass(ctx context.Context) {
	ok, err := m.cfg.Queue.Lock(ctx, LockName, m.cfg.Owner, 3*m.cfg.Interval)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn().Err(err).Msg("take matcher lock")
		}
		return
	}
	if !ok {
		return
	}
	st, err := m.RunOnce(ctx, time.Now())
	if err != nil && ctx.Err() == nil {
		m.log.Error().Err(err).Msg("matchmaking pass")
	}
	ev := m.log.Debug()
	if st.Matched > 0 || st.Expired > 0 || st.Failed > 0 {
		ev = m.log.Info()
	}
	ev.Int("tickets", st.Tickets).Int("groups", st.Groups).Int("matched", st.Matched).
		Int("expired", st.Expired).Int("skipped", st.Skipped).Int("failed", st.Failed).
		Dur("duration", st.Duration).Msg("matchmaking pass")
}

// RunOnce runs one pass at now, without the lock: for every mode with queued
// tickets it expires the tickets older than MaxWait, then Match, Place and
// Assign. It stops at the first error of the Queue's reads; errors of Place
// and Assign for one group are logged and counted in Stats.Failed.
func (m *Matcher) RunOnce(ctx context.Context, now time.Time) (Stats, error) {
	start := time.Now()
	var st Stats
	modes, err := m.cfg.Queue.Modes(ctx)
	if err == nil {
		for _, name := range modes {
			if err = m.matchMode(ctx, name, now, &st); err != nil {
				break
			}
		}
	}
	st.Duration = time.Since(start)
	if err != nil {
		return st, fmt.Errorf("matchmaking pass: %w", err)
	}
	return st, nil
}

func (m *Matcher) matchMode(ctx context.Context, name string, now time.Time, st *Stats) error {
	queued, err := m.cfg.Queue.Queued(ctx, name)
	if err != nil {
		return fmt.Errorf("mode %s: %w", name, err)
	}
	st.Tickets += len(queued)
	if queued, err = m.expire(ctx, queued, now, st); err != nil {
		return fmt.Errorf("mode %s: %w", name, err)
	}
	mode, ok := m.cfg.Modes(name)
	if !ok {
		m.log.Warn().Str("mode", name).Int("tickets", len(queued)).Msg("tickets queued for an unknown mode")
		return nil
	}
	mode.Name = name
	var open []OpenRoom
	if m.cfg.Open != nil {
		if open, err = m.cfg.Open(ctx, name); err != nil {
			m.log.Warn().Err(err).Str("mode", name).Msg("list open rooms; no backfill this pass")
			open = nil
		}
	}
	groups := Match(mode, queued, open, now)
	st.Groups += len(groups)
	m.placeAll(ctx, name, groups, st)
	return nil
}

// expire marks the tickets that waited longer than MaxWait Expired and
// returns the others, filtered in place.
func (m *Matcher) expire(ctx context.Context, queued []Ticket, now time.Time, st *Stats) ([]Ticket, error) {
	if m.cfg.MaxWait < 0 {
		return queued, nil
	}
	var old []string
	kept := queued[:0]
	for _, t := range queued {
		if now.Sub(t.CreatedAt) > m.cfg.MaxWait {
			old = append(old, t.ID)
		} else {
			kept = append(kept, t)
		}
	}
	if len(old) == 0 {
		return kept, nil
	}
	n, err := m.cfg.Queue.Expire(ctx, old)
	st.Expired += n
	return kept, err
}

type outcome int

const (
	placed outcome = iota
	skipped
	failed
)

// placeAll places and assigns the groups, Parallel at a time.
func (m *Matcher) placeAll(ctx context.Context, mode string, groups []Group, st *Stats) {
	var (
		mu  sync.Mutex // guards st
		wg  sync.WaitGroup
		sem = make(chan struct{}, m.cfg.Parallel) // a slot per group being placed
	)
	for _, g := range groups {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			o := m.place(ctx, mode, g)
			mu.Lock()
			defer mu.Unlock()
			switch o {
			case placed:
				st.Matched += len(g.Tickets)
			case skipped:
				st.Skipped++
			case failed:
				st.Failed++
			}
		})
	}
	wg.Wait()
}

func (m *Matcher) place(ctx context.Context, mode string, g Group) outcome {
	log := m.log.With().Str("mode", mode).Str("owner_ticket", g.Tickets[0].ID).Int("players", g.Players()).Logger()
	a, err := m.cfg.Place(ctx, g)
	if err != nil {
		log.Warn().Err(err).Str("room", g.RoomID).Msg("place group")
		return failed
	}
	if g.RoomID != "" {
		a.Backfill = true
		a.RoomID = cmp.Or(a.RoomID, g.RoomID)
	}
	ids := make([]string, len(g.Tickets))
	for i, t := range g.Tickets {
		ids[i] = t.ID
	}
	err = m.cfg.Queue.Assign(ctx, ids, a)
	switch {
	case err == nil:
		log.Debug().Str("room", a.RoomID).Str("node", a.Node).Bool("backfill", a.Backfill).Strs("tickets", ids).Msg("group matched")
		if m.cfg.Matched != nil {
			now := time.Now()
			for _, t := range g.Tickets {
				m.cfg.Matched(mode, now.Sub(t.CreatedAt))
			}
		}
		return placed
	case errors.Is(err, ErrNotQueued), errors.Is(err, ErrNotFound):
		log.Debug().Err(err).Str("room", a.RoomID).Msg("group dropped: a ticket left the queue")
		if m.cfg.Release != nil {
			m.cfg.Release(ctx, g, a)
		}
		return skipped
	default:
		// The write may or may not have happened, so the room is not
		// released: its players may be on their way.
		log.Error().Err(err).Str("room", a.RoomID).Msg("assign group")
		return failed
	}
}
