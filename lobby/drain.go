package lobby

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/internal/timing"
	"github.com/tickwire/tickwire/lobby/directory"
)

// WaitBuckets are the bounds of the matchmaking wait histogram.
var WaitBuckets = []time.Duration{
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second,
	2500 * time.Millisecond, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute,
}

// counters are the lobby's event counts, updated atomically.
type counters struct {
	matchesEnded, resultsDropped atomic.Uint64
	submissions, submitErrors    atomic.Uint64
	ticketsMatched               atomic.Uint64
}

// Stats is a snapshot of the lobby's counters on this node.
type Stats struct {
	// MatchesEnded counts the matches of this node's rooms that ended and
	// were queued to be credited; MatchResultsDropped those dropped because
	// the queue was full.
	MatchesEnded        uint64 `json:"matches_ended"`
	MatchResultsDropped uint64 `json:"match_results_dropped"`
	// LeaderboardSubmissions counts scores written to a board, from match
	// results and the API; LeaderboardSubmitErrors the writes that failed
	// (a match result is retried).
	LeaderboardSubmissions  uint64 `json:"leaderboard_submissions"`
	LeaderboardSubmitErrors uint64 `json:"leaderboard_submit_errors"`
	// TicketsMatched counts matchmaking tickets this node's matcher placed.
	TicketsMatched uint64 `json:"tickets_matched"`
	// APIRateLimited counts API requests refused 429 by RateLimits.API;
	// JoinCodeRateLimited and RoomCreateRateLimited those refused by the
	// tighter limits of join-by-code and room creation.
	APIRateLimited        uint64 `json:"api_rate_limited"`
	JoinCodeRateLimited   uint64 `json:"join_code_rate_limited"`
	RoomCreateRateLimited uint64 `json:"room_create_rate_limited"`
	// RateLimitKeys is how many addresses (and players) the rate limits
	// track now, all three tables together: bounded by 3 x MaxKeys.
	RateLimitKeys int `json:"rate_limit_keys"`
	// RateLimitEvictions counts keys forgotten before their bucket refilled
	// because a table was full.
	RateLimitEvictions uint64 `json:"rate_limit_evictions"`
}

// Stats reports the lobby's counters.
func (l *Lobby) Stats() Stats {
	c := &l.stats
	return Stats{
		MatchesEnded: c.matchesEnded.Load(), MatchResultsDropped: c.resultsDropped.Load(),
		LeaderboardSubmissions: c.submissions.Load(), LeaderboardSubmitErrors: c.submitErrors.Load(),
		TicketsMatched: c.ticketsMatched.Load(),

		APIRateLimited: l.limits.api.refused.Load(), JoinCodeRateLimited: l.limits.joinCode.refused.Load(),
		RoomCreateRateLimited: l.limits.newRoom.refused.Load(),
		RateLimitKeys:         l.limits.api.len() + l.limits.joinCode.len() + l.limits.newRoom.len(),
		RateLimitEvictions:    l.limits.api.evicted.Load() + l.limits.joinCode.evicted.Load() + l.limits.newRoom.evicted.Load(),
	}
}

// MatchWaits is how long the tickets this node's matcher placed had waited,
// by mode, in WaitBuckets.
func (l *Lobby) MatchWaits() map[string]timing.Snapshot {
	out := map[string]timing.Snapshot{}
	l.waits.Range(func(k, v any) bool {
		out[k.(string)] = v.(*timing.Histogram).Snapshot()
		return true
	})
	return out
}

// matched records a ticket's wait; it is the matcher's Matched hook.
func (l *Lobby) matched(mode string, waited time.Duration) {
	l.stats.ticketsMatched.Add(1)
	h, ok := l.waits.Load(mode)
	if !ok {
		h, _ = l.waits.LoadOrStore(mode, timing.NewHistogram(WaitBuckets...))
	}
	h.(*timing.Histogram).Observe(waited)
}

// QueueSizes reads how many tickets are queued per mode from the queue (the
// cluster's, with a shared store). Every known mode is in the map.
func (l *Lobby) QueueSizes(ctx context.Context) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.StoreTimeout)
	defer cancel()
	out := make(map[string]int, len(l.modes))
	for name := range l.modes {
		out[name] = 0
	}
	modes, err := l.cfg.Queue.Modes(ctx)
	if err != nil {
		return nil, fmt.Errorf("queue sizes: %w", err)
	}
	for _, m := range modes {
		q, err := l.cfg.Queue.Queued(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("queue sizes: mode %s: %w", m, err)
		}
		out[m] = len(q)
	}
	return out, nil
}

// SetDraining marks this node draining (or not) in the directory at once:
// the lobby, here and on the other nodes, then places no new rooms or
// players on it. Its running rooms stay listed until they end.
func (l *Lobby) SetDraining(on bool) {
	if l.draining.Swap(on) == on {
		return
	}
	l.log.Info().Bool("draining", on).Msg("node draining state changed")
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Draining reports whether SetDraining(true) was called.
func (l *Lobby) Draining() bool { return l.draining.Load() }

// ErrNodeDraining is returned for a seat in a room whose node is draining.
var ErrNodeDraining = errors.New("the room's node is shutting down and takes no new players")

// checkNode refuses seats on a draining node: this one, or another one as the
// directory last heard from it.
func (l *Lobby) checkNode(ctx context.Context, node string) error {
	if node == l.cfg.NodeID {
		if l.draining.Load() {
			return ErrNodeDraining
		}
		return nil
	}
	nodes, err := l.cfg.Directory.Nodes(ctx)
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	for _, n := range nodes {
		if n.ID == node && n.Draining {
			return ErrNodeDraining
		}
	}
	return nil
}

// requeue puts back a match result whose write was cut short by shutdown, so
// Close writes it rather than losing it.
func (l *Lobby) requeue(r result) {
	select {
	case l.results <- r:
	default:
		l.stats.resultsDropped.Add(1)
		l.log.Error().Str("mode", r.mode).Msg("match result queue full at shutdown; result dropped")
	}
}

// drainingNodes is the set of live nodes that are draining.
func drainingNodes(nodes []directory.Node) map[string]bool {
	out := map[string]bool{}
	for _, n := range nodes {
		if n.Draining {
			out[n.ID] = true
		}
	}
	return out
}
