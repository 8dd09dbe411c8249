package netcode

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/internal/timing"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// hub connects one game.Room to its sessions: it is the room's Observer, and
// everything in it is owned by the room's goroutine.
type hub struct {
	env   *env
	rooms *registry // that the hub leaves when its room ends
	room  *game.Room
	codec *codec // the room's schema, read-only: sessions decode inputs by it
	// takesMessages is set when the game is a game.Messenger; read-only.
	takesMessages bool
	enc           *encoder
	hist          history
	log           zerolog.Logger

	sessions   []*session // joined sessions, welcomed or about to be
	spectators int        // how many of sessions are spectators'
	emptySince time.Time  // when the last player's session left; zero while occupied
	// seats are the players' seats by player id, with their resume tokens;
	// held counts the seats waiting for a rejoin (no session attached).
	seats map[game.PlayerID]*seat
	held  int

	// Written by the room goroutine, read by anyone (the directory).
	capacity int // set before the room starts
	players  atomic.Int32
	watchers atomic.Int32 // spectators
	joined   atomic.Int32
	phase    atomic.Uint32
	// Added to by the room's sessions' writers, read by anyone (stats):
	// bytes written to the room's clients and frames dropped from their
	// queues.
	bytesOut      atomic.Uint64
	framesDropped atomic.Uint64
	// tickHist counts the room's tick durations in timing.TickBuckets;
	// observed by the room goroutine (game.RoomConfig.OnTick), read by
	// anyone, lock-free.
	tickHist *timing.Histogram
}

// Tick streams the state at this tick: one shared delta for every in-sync
// session, and a welcome, snapshot or catch-up delta for the others. Hot path.
func (h *hub) Tick(sim *game.Sim) {
	cur := h.hist.next()
	cur.capture(sim)
	h.players.Store(int32(len(cur.players)))
	h.phase.Store(uint32(cur.phase))
	prev := h.hist.previous()
	now := time.Now()
	if h.held > 0 {
		h.forgetExpired(sim)
	}
	h.reapIfEmpty(now, len(cur.players))

	var shared *frame
	if prev != nil && len(h.sessions) > 0 {
		shared = newFrame(h.enc.encodeDelta(prev, cur), cur.tick)
		if !h.env.cfg.NoDeflate {
			shared.compress(h.env.cfg.DeflateLevel)
		}
	}
	for _, s := range h.sessions {
		switch {
		case !s.welcomed:
			h.welcome(s, sim, cur, now)
		case s.resync.Swap(false):
			h.catchUp(s, nil, cur)
		case s.lagging:
			h.whenDrained(s, cur, now)
		case shared != nil && s.sentTick == prev.tick:
			if s.send(shared) {
				s.sentTick = cur.tick
			} else {
				s.lagging, s.lagSince = true, now
				h.env.stats.lagged.Add(1)
			}
		default:
			s.lagging, s.lagSince = true, now
		}
	}
	if shared != nil {
		shared.release()
	}
	if w := sim.World(); len(w.Events()) > 0 || len(w.Chat()) > 0 {
		h.sendEvents(w.Events(), w.Chat(), cur.tick)
	}
}

// sendEvents sends each session that got this tick's frame the game's events
// addressed to it, in one frame right after that one. A session that is
// behind gets none: it is caught up with state, not with past events.
func (h *hub) sendEvents(evs []game.Event, chat []game.ChatLine, tick uint64) {
	var lines []*pb.ChatLine
	for _, l := range chat {
		lines = append(lines, &pb.ChatLine{PlayerId: uint32(l.Player), Name: l.Name, Text: l.Text})
	}
	for _, s := range h.sessions {
		if !s.welcomed || s.sentTick != tick {
			continue
		}
		pid := s.playerID()
		var msgs []*pb.GameMessage
		for i := range evs {
			if len(evs[i].To) == 0 || slices.Contains(evs[i].To, pid) {
				msgs = append(msgs, &pb.GameMessage{Op: evs[i].Op, Data: evs[i].Data})
			}
		}
		if len(msgs) == 0 && len(lines) == 0 {
			continue
		}
		f := newFrame(marshal(&pb.ServerFrame{Body: &pb.ServerFrame_Events{Events: &pb.GameEvents{Tick: tick, Messages: msgs, Chat: lines}}}), tick)
		if s.deflate {
			f.compress(h.env.cfg.DeflateLevel)
		}
		s.send(f)
		f.release()
	}
}

// whenDrained catches a lagging session up once its writer has emptied its
// queue, and drops it if that takes longer than the slow-consumer bound.
func (h *hub) whenDrained(s *session, cur *roomState, now time.Time) {
	if !s.drained() {
		if now.Sub(s.lagSince) > h.env.cfg.SlowConsumerTimeout {
			if s.fail(pb.ErrorCode_ERROR_CODE_SLOW_CONSUMER, "client did not keep up with the room") {
				h.log.Warn().Str("conn", s.id).Uint32("player", s.player.Load()).Msg("slow consumer dropped")
			}
			s.lagging = false
			s.sentTick = 0
		}
		return
	}
	h.catchUp(s, h.hist.at(s.delivered.Load()), cur)
}

// catchUp sends a delta from base (the state the client surely has) to cur, or a
// full snapshot when base is nil or no longer kept.
func (h *hub) catchUp(s *session, base, cur *roomState) {
	var f *frame
	if base != nil && base.tick > 0 && base.tick < cur.tick {
		f = newFrame(h.enc.encodeDelta(base, cur), cur.tick)
	} else {
		sf := &pb.ServerFrame{Body: &pb.ServerFrame_Snapshot{Snapshot: h.codec.snapshot(cur, s.playerID())}}
		f = newFrame(marshal(sf), cur.tick)
	}
	if s.deflate {
		f.compress(h.env.cfg.DeflateLevel)
	}
	if s.send(f) {
		s.sentTick, s.lagging = cur.tick, false
		h.env.stats.resyncs.Add(1)
	}
	f.release()
}

func (h *hub) welcome(s *session, sim *game.Sim, cur *roomState, now time.Time) {
	pid := s.playerID()
	var entity uint32
	if p := cur.player(pid); p != nil {
		entity = uint32(p.entity)
	}
	rules := sim.Rules()
	spectator := s.spectator.Load()
	w := &pb.Welcome{
		PlayerId:     uint32(pid),
		EntityId:     entity,
		RoomId:       h.room.ID(),
		TickRate:     uint32(h.room.TickRate()),
		Tick0UnixUs:  h.room.Start0().UnixMicro(),
		ServerTimeUs: now.UnixMicro(),
		Match: &pb.MatchInfo{
			Mode:          rules.Mode,
			MaxPlayers:    uint32(rules.MaxPlayers),
			MinPlayers:    uint32(rules.MinPlayers),
			DurationTicks: rules.DurationTicks,
			ScoreLimit:    rules.ScoreLimit,
		},
		Snapshot:  h.codec.snapshot(cur, pid),
		Resumed:   s.resumed,
		Schema:    h.codec.wire,
		Spectator: spectator,
	}
	if st := h.seats[pid]; st != nil && !spectator {
		w.ResumeToken = st.token
	}
	f := newFrame(marshal(&pb.ServerFrame{Body: &pb.ServerFrame_Welcome{Welcome: w}}), cur.tick)
	if s.deflate {
		f.compress(h.env.cfg.DeflateLevel)
	}
	s.welcomed = s.send(f)
	s.sentTick = cur.tick
	f.release()
	if spectator {
		h.log.Info().Str("conn", s.id).Int("spectators", h.spectators).Msg("spectator joined")
		return
	}
	h.log.Info().Str("conn", s.id).Uint32("player", uint32(pid)).Bool("resumed", s.resumed).Msg("player joined")
}

// join seats s in the room, or gives it back the account's held seat. It runs
// on the room goroutine.
func (h *hub) join(sim *game.Sim, s *session, req game.JoinRequest) {
	if req.Account != "" && h.rejoinAccount(sim, s, req.Account) {
		return
	}
	p, err := sim.Join(req)
	if err != nil {
		s.failJoin(err)
		return
	}
	s.mu.Lock()
	gone := s.gone
	if !gone {
		s.player.Store(uint32(p.ID))
		s.hub.Store(h)
	}
	s.mu.Unlock()
	if gone { // the connection closed while the join was queued
		sim.RemovePlayer(p.ID)
		return
	}
	h.addSeat(p.ID, s)
	h.sessions = append(h.sessions, s)
	h.emptySince = time.Time{}
	h.joined.Add(1)
}

// reapIfEmpty stops a room no player has been connected to for
// EmptyRoomTimeout (UnjoinedRoomTimeout while nobody ever joined) and in which
// no seat is held (players counts the seated players, held ones included): a
// room whose players all dropped waits for their rejoin grace first.
// Spectators do not count: they are told the room ended.
func (h *hub) reapIfEmpty(now time.Time, players int) {
	if h.occupied() {
		return
	}
	if h.emptySince.IsZero() {
		h.emptySince = now
		return
	}
	limit := h.env.cfg.EmptyRoomTimeout
	if h.joined.Load() == 0 {
		limit = h.env.cfg.UnjoinedRoomTimeout
	}
	if players == 0 && now.Sub(h.emptySince) > limit {
		h.room.Stop(game.EndAbandoned)
	}
}

// tickTook counts a tick's duration; the room calls it (RoomConfig.OnTick)
// on its goroutine at the end of every tick. Hot path: a few atomic adds.
func (h *hub) tickTook(_ uint64, took time.Duration) { h.tickHist.Observe(took) }

// Ended tells every session the final scores and closes it.
func (h *hub) Ended(sim *game.Sim, r game.Result) {
	h.rooms.remove(h)
	defer h.rooms.told(h)
	if h.env.cfg.OnMatchEnd != nil {
		h.env.cfg.OnMatchEnd(finalState(h.room.ID(), sim, r))
	}
	end := &pb.MatchEnd{Tick: r.Tick, Reason: endReasonToWire(r.Reason), Detail: r.Detail, Checksum: sim.World().Checksum()}
	for _, st := range r.Standings {
		end.Scores = append(end.Scores, &pb.FinalScore{PlayerId: uint32(st.Player), Name: st.Name, Score: st.Score, Rank: uint32(st.Rank)})
	}
	f := newFrame(marshal(&pb.ServerFrame{Body: &pb.ServerFrame_MatchEnd{MatchEnd: end}}), 0)
	if !h.env.cfg.NoDeflate {
		f.compress(h.env.cfg.DeflateLevel)
	}
	code, reason := uint16(closeNormal), "match ended"
	if r.Reason == game.EndShutdown {
		code, reason = closeGoingAway, "server going away"
	}
	for _, s := range h.sessions {
		s.send(f)
		s.close(code, reason)
	}
	f.release()
	h.env.stats.spectators.Add(-int64(h.spectators))
	h.spectators = 0
	h.watchers.Store(0)
	h.sessions = nil
	h.log.Info().Str("reason", r.Reason.String()).Uint64("tick", r.Tick).Int("players", len(r.Standings)).Msg("match ended")
}

func endReasonToWire(r game.EndReason) pb.MatchEndReason {
	switch r {
	case game.EndTimeLimit:
		return pb.MatchEndReason_MATCH_END_REASON_TIME_LIMIT
	case game.EndScoreLimit:
		return pb.MatchEndReason_MATCH_END_REASON_SCORE_LIMIT
	case game.EndAbandoned:
		return pb.MatchEndReason_MATCH_END_REASON_ABANDONED
	case game.EndShutdown:
		return pb.MatchEndReason_MATCH_END_REASON_SHUTDOWN
	case game.EndGame:
		return pb.MatchEndReason_MATCH_END_REASON_GAME
	}
	return pb.MatchEndReason_MATCH_END_REASON_UNSPECIFIED
}

func finalState(roomID string, sim *game.Sim, r game.Result) MatchResult {
	w := sim.World()
	m := MatchResult{
		RoomID:   roomID,
		Mode:     sim.Rules().Mode,
		Result:   r,
		Entities: append([]game.Entity(nil), w.Entities()...),
		Checksum: w.Checksum(),
	}
	for _, p := range w.Players() {
		m.Players = append(m.Players, *p)
	}
	return m
}
