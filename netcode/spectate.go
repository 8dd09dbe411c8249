package netcode

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/game"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// A spectator (Join.spectate) watches a room without a seat: no player, no
// entity, no score, no resume token. It is one more session in the room's
// list, so it gets the same shared frame every tick, catch-ups and resyncs
// like a player, and the events sent to the whole room. It is not counted
// as a player anywhere: a room with only spectators is empty and is reaped
// as usual, and they get its end like everyone else. Config.MaxSpectators
// bounds them per room.

// spectate admits an admitted spectator join to the running room roomID. It
// runs on the connection's read goroutine; a spectator never creates a room.
func (s *Server) spectate(sess *session, roomID string) {
	h := s.rooms.get(roomID)
	if h == nil {
		sess.fail(pb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND, fmt.Sprintf("room %q is not running on this node: a spectator watches a running room only", roomID))
		return
	}
	// Set before the join reaches the room, so no input read after it
	// steers anything, whatever the room answers.
	sess.spectator.Store(true)
	if !h.room.Do(func(sim *game.Sim) { h.watch(sess) }) {
		sess.fail(pb.ErrorCode_ERROR_CODE_MATCH_ENDED, fmt.Sprintf("room %q has ended", roomID))
	}
}

// watch adds the spectator s to the room's sessions, within MaxSpectators.
// It is welcomed at the next tick. It runs on the room goroutine.
func (h *hub) watch(s *session) {
	if limit := h.env.cfg.MaxSpectators; h.spectators >= max(limit, 0) {
		h.env.stats.spectatorsRefused.Add(1)
		s.fail(pb.ErrorCode_ERROR_CODE_SPECTATORS_FULL, fmt.Sprintf("room %q has its maximum of %d spectators", h.room.ID(), max(limit, 0)))
		return
	}
	s.mu.Lock()
	gone := s.gone
	if !gone {
		s.hub.Store(h)
	}
	s.mu.Unlock()
	if gone { // the connection closed while the join was queued
		return
	}
	h.sessions = append(h.sessions, s)
	h.spectators++
	h.watchers.Store(int32(h.spectators))
	h.env.stats.spectators.Add(1)
	h.env.stats.spectatorsTotal.Add(1)
}

// unwatch counts the spectator s out of the room, once it is off its
// sessions. It runs on the room goroutine.
func (h *hub) unwatch() {
	h.spectators--
	h.watchers.Store(int32(h.spectators))
	h.env.stats.spectators.Add(-1)
}

// occupied reports whether a player (not a spectator) is connected: what
// keeps the room from being reaped.
func (h *hub) occupied() bool { return len(h.sessions) > h.spectators }

// refuseSpectator answers a frame a spectator may not send (what) with an
// Error frame, and keeps the connection: the frame is dropped. It still
// counted against the connection's rate limit.
func (s *Server) refuseSpectator(sess *session, what string) {
	s.stats.spectatorFramesRefused.Add(1)
	b, _ := proto.Marshal(&pb.ServerFrame{Body: &pb.ServerFrame_Error{Error: &pb.Error{
		Code:    pb.ErrorCode_ERROR_CODE_SPECTATOR,
		Message: "a spectator cannot send " + what + ": it was dropped",
	}}})
	f := newFrame(b, 0)
	sess.send(f)
	f.release()
}
