package netcode

import (
	"context"
	"fmt"
	"time"

	"github.com/tickwire/tickwire/game"
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
	if s.rooms.draining.Swap(true) {
		return
	}
	hubs := s.rooms.list()
	var waiting []*hub
	for _, h := range hubs {
		if game.Phase(h.phase.Load()) == game.PhaseWaiting {
			waiting = append(waiting, h)
		}
	}
	running := len(hubs) - len(waiting)
	for _, h := range waiting {
		h.room.Stop(game.EndShutdown)
	}
	s.log.Info().Int("running", running).Int("waiting_ended", len(waiting)).Msg("draining: taking no new players")
}

// Draining reports whether Drain or Shutdown was called.
func (s *Server) Draining() bool { return s.rooms.draining.Load() }

// WaitRooms waits until every room has ended, or ctx ends.
func (s *Server) WaitRooms(ctx context.Context) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		n := s.rooms.count()
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

// waitSessions waits until every connection has closed, up to the bound each
// has (WriteTimeout to write its close, closeWait for the answer) or
// ctx's end: a process that exits with close frames unread by its clients, or
// their replies unread by it, may reset the connections and lose the frames.
func (s *Server) waitSessions(ctx context.Context) {
	deadline := time.NewTimer(s.cfg.WriteTimeout + closeWait)
	defer deadline.Stop()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		n := s.conns.count()
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

// EndRoom ends the match of room id now, as Shutdown ends every match: its
// players and spectators get MatchEnd with reason SHUTDOWN and a "going
// away" close. It waits until the room's goroutine is done, or ctx ends:
// then every client has its MatchEnd queued ahead of the close, and a
// Shutdown right after cannot close them first. It is for a room the node
// keeps for itself, which a drain must not wait for: the demo room of
// tickwire serve --demo-bots. It reports whether such a room was running.
func (s *Server) EndRoom(ctx context.Context, id string) (bool, error) {
	h := s.rooms.get(id)
	if h == nil {
		return false, nil
	}
	h.room.Stop(game.EndShutdown)
	select {
	case <-h.room.Done():
		return true, nil
	case <-ctx.Done():
		return true, fmt.Errorf("end room %s: %w", id, ctx.Err())
	}
}
