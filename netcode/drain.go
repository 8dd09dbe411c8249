package netcode

import (
	"context"
	"fmt"
	"time"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/internal/timing"
)

// Draining a server is the first half of a graceful stop: Drain refuses new
// connections, joins and rooms but lets running matches play on; WaitRooms
// waits for them to end; Shutdown then ends whatever is left.

// Drain stops the server taking players: joins are refused with
// SERVER_SHUTDOWN, no room is created, and rooms still waiting for players
// (who can no longer come) end now. Running matches go on, and a player who
// dropped from one may still take its held seat back with its resume token.
// It is safe to call more than once.
func (s *Server) Drain() {
	if s.draining.Swap(true) {
		return
	}
	s.roomsMu.Lock()
	var waiting []*hub
	for _, h := range s.rooms {
		if game.Phase(h.phase.Load()) == game.PhaseWaiting {
			waiting = append(waiting, h)
		}
	}
	running := len(s.rooms) - len(waiting)
	s.roomsMu.Unlock()
	for _, h := range waiting {
		h.room.Stop(game.EndShutdown)
	}
	s.log.Info().Int("running", running).Int("waiting_ended", len(waiting)).Msg("draining: taking no new players")
}

// Draining reports whether Drain or Shutdown was called.
func (s *Server) Draining() bool { return s.draining.Load() }

// WaitRooms waits until every room has ended, or ctx ends.
func (s *Server) WaitRooms(ctx context.Context) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		s.roomsMu.Lock()
		n := len(s.rooms)
		s.roomsMu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %d rooms: %w", n, ctx.Err())
		case <-t.C:
		}
	}
}

// waitSessions waits until every connection has closed, up to closeWait or
// ctx's end: a process that exits with close frames unread by its clients, or
// their replies unread by it, may reset the connections and lose the frames.
func (s *Server) waitSessions(ctx context.Context) {
	deadline := time.NewTimer(closeWait)
	defer deadline.Stop()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		s.sessionsMu.Lock()
		n := len(s.sessions)
		s.sessionsMu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			s.log.Warn().Int("connections", n).Msg("shutdown: connections still open after their close")
			return
		case <-t.C:
		}
	}
}

// retiredTicks are the tick counts of the rooms that have ended, so the
// server's totals never go down when a room goes.
type retiredTicks struct {
	ticks, overruns, skipped uint64
	hist                     timing.Snapshot
}

// retire adds an ended room's final tick counts; roomsMu must be held.
func (t *retiredTicks) retire(st game.Stats, hs timing.Snapshot) {
	t.ticks += st.Ticks
	t.overruns += st.Overruns
	t.skipped += st.Skipped
	t.hist.Add(hs)
}
