package netcode

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tickwire/tickwire/game"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// seat is a player's place in a room as its hub sees it: the resume token that
// reclaims it, and the session attached to it, nil while the seat is held for
// a rejoin after the connection dropped. Owned by the room goroutine.
type seat struct {
	token string
	sess  *session
}

// resumeTokenBytes is the secret part of a resume token: 128 random bits.
const resumeTokenBytes = 16

// newResumeToken returns a fresh token for a seat: the player id, a dot and
// 128 bits from crypto/rand, base64url. The id only says which seat to check;
// the random part is the secret. A token is looked up in the room the join
// names, so it is good for that room only.
func newResumeToken(pid game.PlayerID) string {
	var b [resumeTokenBytes]byte
	_, _ = rand.Read(b[:]) // never fails on the platforms Go supports
	return strconv.FormatUint(uint64(pid), 10) + "." + base64.RawURLEncoding.EncodeToString(b[:])
}

// resumeTokenPlayer is the player id a token claims, or false if it is not
// shaped like a token.
func resumeTokenPlayer(token string) (game.PlayerID, bool) {
	id, secret, ok := strings.Cut(token, ".")
	if !ok || len(secret) != base64.RawURLEncoding.EncodedLen(resumeTokenBytes) {
		return 0, false
	}
	pid, err := strconv.ParseUint(id, 10, 32)
	return game.PlayerID(pid), err == nil
}

// holdTicks is the rejoin grace in ticks, rounded up.
func (h *hub) holdTicks() uint64 {
	interval := time.Second / time.Duration(h.room.TickRate())
	return uint64((h.env.cfg.RejoinGrace + interval - 1) / interval)
}

// resume hands a join with a resume token to the room it names. The token is
// the credential: no ticket is needed.
func (s *Server) resume(sess *session, j *pb.Join) {
	h := s.rooms.get(j.RoomId)
	if h == nil {
		sess.fail(pb.ErrorCode_ERROR_CODE_RESUME_EXPIRED, fmt.Sprintf("room %q is gone", j.RoomId))
		return
	}
	if !h.room.Do(func(sim *game.Sim) { h.resume(sim, sess, j.ResumeToken) }) {
		sess.fail(pb.ErrorCode_ERROR_CODE_MATCH_ENDED, fmt.Sprintf("room %q has ended", j.RoomId))
	}
}

// resume reattaches s to the seat its token names. It runs on the room
// goroutine.
func (h *hub) resume(sim *game.Sim, s *session, token string) {
	pid, ok := resumeTokenPlayer(token)
	st := h.seats[pid]
	if !ok || st == nil || subtle.ConstantTimeCompare([]byte(st.token), []byte(token)) != 1 || sim.World().Player(pid) == nil {
		s.fail(pb.ErrorCode_ERROR_CODE_RESUME_EXPIRED, "resume token is unknown, or its seat is gone (left or held past the rejoin grace)")
		return
	}
	h.reattach(sim, s, pid, st)
}

// rejoinAccount reattaches s to the held seat of account, for a rejoin with a
// lobby ticket instead of a token. It reports false when the account holds no
// seat waiting for a rejoin. It runs on the room goroutine.
func (h *hub) rejoinAccount(sim *game.Sim, s *session, account string) bool {
	for _, p := range sim.World().Players() {
		if p.Account == account && p.Disconnected {
			if st := h.seats[p.ID]; st != nil {
				h.reattach(sim, s, p.ID, st)
				return true
			}
		}
	}
	return false
}

// reattach gives seat st of player pid to s, which is welcomed with a full
// snapshot at the next tick. A session still attached to the seat loses it
// and is closed with REPLACED: the newer connection wins.
func (h *hub) reattach(sim *game.Sim, s *session, pid game.PlayerID, st *seat) {
	if sim.World().Phase() == game.PhaseEnded {
		s.fail(pb.ErrorCode_ERROR_CODE_MATCH_ENDED, "the match has ended")
		return
	}
	s.mu.Lock()
	gone := s.gone
	if !gone {
		s.player.Store(uint32(pid))
		s.hub.Store(h)
	}
	s.mu.Unlock()
	if gone { // closed while the rejoin was queued: the seat stays as it was
		return
	}
	if _, err := sim.Reconnect(pid); err != nil { // the callers checked the player is seated
		s.fail(errorCode(err), err.Error())
		return
	}
	if old := st.sess; old != nil {
		h.detach(old)
		old.hub.Store(nil) // its inputs no longer steer the player
		old.fail(pb.ErrorCode_ERROR_CODE_REPLACED, "this seat was resumed by another connection")
		h.log.Info().Str("conn", old.id).Uint32("player", uint32(pid)).Msg("connection replaced by a rejoin")
	} else {
		h.held--
	}
	st.sess = s
	s.resumed = true
	h.sessions = append(h.sessions, s)
	h.emptySince = time.Time{}
	h.env.stats.rejoins.Add(1)
}

// addSeat records the seat of a newly joined player, with a fresh token.
func (h *hub) addSeat(pid game.PlayerID, s *session) {
	if h.seats == nil {
		h.seats = map[game.PlayerID]*seat{}
	}
	h.seats[pid] = &seat{token: newResumeToken(pid), sess: s}
}

// drop handles s leaving (an explicit Leave) or its connection closing. A
// player whose connection closed without a Leave keeps its seat for
// RejoinGrace, if its client can know the token: it was welcomed, now or on an
// earlier connection. Otherwise the player is removed now. A session that no
// longer holds its seat (it was replaced) only goes. It runs on the room
// goroutine.
func (h *hub) drop(sim *game.Sim, s *session, leave bool) {
	h.detach(s)
	if s.spectator.Load() { // no seat to free or hold
		return
	}
	pid := s.playerID()
	st := h.seats[pid]
	if st == nil || st.sess != s {
		return
	}
	if leave || h.env.cfg.RejoinGrace <= 0 || !(s.welcomed || s.resumed) || sim.World().Phase() == game.PhaseEnded {
		delete(h.seats, pid)
		sim.RemovePlayer(pid)
		h.log.Info().Str("conn", s.id).Uint32("player", uint32(pid)).Bool("left", leave).Msg("player left")
		return
	}
	st.sess = nil
	h.held++
	sim.Disconnect(pid, h.holdTicks())
	h.env.stats.seatsHeld.Add(1)
	h.log.Info().Str("conn", s.id).Uint32("player", uint32(pid)).Dur("grace", h.env.cfg.RejoinGrace).
		Msg("player disconnected; seat held for a rejoin")
}

// detach takes s off the sessions the room streams to.
func (h *hub) detach(s *session) {
	for i, o := range h.sessions {
		if o == s {
			h.sessions = append(h.sessions[:i], h.sessions[i+1:]...)
			if s.spectator.Load() {
				h.unwatch()
			}
			break
		}
	}
	if !h.occupied() && h.emptySince.IsZero() {
		h.emptySince = time.Now()
	}
}

// forgetExpired forgets the held seats whose player the Sim removed when the
// rejoin grace ran out. It runs on the room goroutine, after a tick.
func (h *hub) forgetExpired(sim *game.Sim) {
	for pid, st := range h.seats {
		if st.sess == nil && sim.World().Player(pid) == nil {
			delete(h.seats, pid)
			h.held--
			h.env.stats.seatsExpired.Add(1)
			h.log.Info().Uint32("player", uint32(pid)).Msg("held seat expired; player removed")
		}
	}
}
