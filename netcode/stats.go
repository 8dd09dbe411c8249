package netcode

import (
	"sync/atomic"

	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// counters are the server's event counts, updated atomically.
type counters struct {
	connections, connectionsTotal       atomic.Int64
	framesOut, bytesOut, framesDropped  atomic.Uint64
	stateFramesOut                      atomic.Uint64
	lagged, resyncs, slowConsumers      atomic.Uint64
	errors, inputsDropped, roomsCreated atomic.Uint64
	chatDropped                         atomic.Uint64
	roomsRefused                        atomic.Uint64
	seatsHeld, rejoins, seatsExpired    atomic.Uint64
	writeTimeouts, panics               atomic.Uint64
	// spectators is a level: the spectators watching now.
	spectators                         atomic.Int64
	spectatorsTotal, spectatorsRefused atomic.Uint64
	spectatorFramesRefused             atomic.Uint64

	// Abuse limits.
	framesIn, framesRateLimited, rateLimitedConns atomic.Uint64
	framesTooLarge, handshakeTimeouts             atomic.Uint64
	protocolErrors                                atomic.Uint64
	refusedPerIP, refusedOrigin                   atomic.Uint64
}

// Stats is a snapshot of a server's counters.
type Stats struct {
	Connections      int64  `json:"connections"`
	ConnectionsTotal int64  `json:"connections_total"`
	Rooms            int    `json:"rooms"`
	RoomsCreated     uint64 `json:"rooms_created"`
	// MaxRooms is Config.MaxRooms (0: no limit); RoomsRefused counts the
	// rooms not started because MaxRooms were running.
	MaxRooms     int    `json:"max_rooms"`
	RoomsRefused uint64 `json:"rooms_refused"`
	FramesOut    uint64 `json:"frames_out"`
	// StateFramesOut counts welcome, delta and snapshot frames written in
	// full: client-updates delivered.
	StateFramesOut uint64 `json:"state_frames_out"`
	BytesOut       uint64 `json:"bytes_out"`
	FramesDropped  uint64 `json:"frames_dropped"`
	Lagged         uint64 `json:"lagged"`
	Resyncs        uint64 `json:"resyncs"`
	SlowConsumers  uint64 `json:"slow_consumers"`
	Errors         uint64 `json:"errors"`
	// InputsDropped counts inputs and game messages dropped because their
	// player's share of the room's queue was full.
	InputsDropped uint64 `json:"inputs_dropped"`
	// ChatDropped counts chat lines dropped over a player's chat rate.
	ChatDropped uint64 `json:"chat_dropped"`
	// SeatsHeld counts players whose connection dropped and whose seat was
	// held for RejoinGrace; Rejoins those who came back (a connection that
	// took over a seat still open included); SeatsExpired those who did not.
	SeatsHeld    uint64 `json:"seats_held"`
	Rejoins      uint64 `json:"rejoins"`
	SeatsExpired uint64 `json:"seats_expired"`
	// Spectators counts the spectators watching now, in every room
	// (Join.spectate: no seat, not in Connections' players anywhere, though
	// each is one of Connections); SpectatorsTotal every spectator welcomed
	// or about to be; SpectatorsRefused those turned away over
	// MaxSpectators (SPECTATORS_FULL); SpectatorFramesRefused the inputs,
	// game messages and chat lines spectators sent, answered with
	// ERROR_CODE_SPECTATOR and dropped.
	Spectators             int64  `json:"spectators"`
	SpectatorsTotal        uint64 `json:"spectators_total"`
	SpectatorsRefused      uint64 `json:"spectators_refused"`
	SpectatorFramesRefused uint64 `json:"spectator_frames_refused"`
	// WriteTimeouts counts connections dropped because one socket write
	// blocked for WriteTimeout: a client that stopped reading altogether.
	WriteTimeouts uint64 `json:"write_timeouts"`
	// Panics counts connections closed with 1011 because their read or
	// write goroutine panicked (a bug, logged with its stack); the node and
	// every other connection go on.
	Panics uint64 `json:"panics"`
	// PendingFrames and PendingBytes are what waits in clients' write queues
	// now (a frame shared by several queues counts in each), in-flight partial
	// writes included: bounded by MaxPending+1 frames per client.
	PendingFrames int64 `json:"pending_frames"`
	PendingBytes  int64 `json:"pending_bytes"`

	// FramesIn counts client frames read: messages, the fragments of
	// fragmented ones, and WebSocket pings and pongs.
	FramesIn uint64 `json:"frames_in"`
	// FramesRateLimited counts client frames dropped over ClientRate.
	FramesRateLimited uint64 `json:"frames_rate_limited"`
	// RateLimitedConns counts connections closed with RATE_LIMITED.
	RateLimitedConns uint64 `json:"rate_limited_conns"`
	// FramesTooLarge counts connections closed for a frame over ReadLimit
	// (FRAME_TOO_LARGE), or for a message over the hard cap of 4 x
	// ReadLimit, at least 16 KiB, compressed or once inflated, which is not
	// read any further (close 1009).
	FramesTooLarge uint64 `json:"frames_too_large"`
	// ProtocolErrors counts connections closed for breaking RFC 6455 or
	// 7692 below the game protocol: reserved bits or opcodes, bad
	// fragmentation, a bad close frame, a corrupt deflate stream (close
	// 1002 or 1007).
	ProtocolErrors uint64 `json:"protocol_errors"`
	// HandshakeTimeouts counts connections closed with HANDSHAKE_TIMEOUT.
	HandshakeTimeouts uint64 `json:"handshake_timeouts"`
	// RefusedPerIP counts upgrades refused with 429 over MaxConnsPerIP;
	// RefusedOrigin those refused with 403 by AllowedOrigins.
	RefusedPerIP  uint64 `json:"refused_per_ip"`
	RefusedOrigin uint64 `json:"refused_origin"`
}

// Stats reports the server's counters.
func (s *Server) Stats() Stats {
	rooms := s.rooms.count()
	c := s.stats
	st := Stats{
		Connections: c.connections.Load(), ConnectionsTotal: c.connectionsTotal.Load(),
		Rooms: rooms, RoomsCreated: c.roomsCreated.Load(), MaxRooms: max(s.cfg.MaxRooms, 0), RoomsRefused: c.roomsRefused.Load(),
		FramesOut: c.framesOut.Load(), StateFramesOut: c.stateFramesOut.Load(), BytesOut: c.bytesOut.Load(), FramesDropped: c.framesDropped.Load(),
		Lagged: c.lagged.Load(), Resyncs: c.resyncs.Load(), SlowConsumers: c.slowConsumers.Load(),
		Errors: c.errors.Load(), InputsDropped: c.inputsDropped.Load(), ChatDropped: c.chatDropped.Load(),
		SeatsHeld: c.seatsHeld.Load(), Rejoins: c.rejoins.Load(), SeatsExpired: c.seatsExpired.Load(), WriteTimeouts: c.writeTimeouts.Load(), Panics: c.panics.Load(),
		FramesIn: c.framesIn.Load(), FramesRateLimited: c.framesRateLimited.Load(), RateLimitedConns: c.rateLimitedConns.Load(),
		FramesTooLarge: c.framesTooLarge.Load(), ProtocolErrors: c.protocolErrors.Load(), HandshakeTimeouts: c.handshakeTimeouts.Load(),
		RefusedPerIP: c.refusedPerIP.Load(), RefusedOrigin: c.refusedOrigin.Load(),
		Spectators: c.spectators.Load(), SpectatorsTotal: c.spectatorsTotal.Load(),
		SpectatorsRefused: c.spectatorsRefused.Load(), SpectatorFramesRefused: c.spectatorFramesRefused.Load(),
	}
	for _, sess := range s.conns.list() {
		frames, bytes := sess.pending()
		st.PendingFrames += int64(frames)
		st.PendingBytes += int64(bytes)
	}
	return st
}

// of is the counter of the connections closed with code, if it has one.
func (c *counters) of(code pb.ErrorCode) *atomic.Uint64 {
	switch code {
	case pb.ErrorCode_ERROR_CODE_HANDSHAKE_TIMEOUT:
		return &c.handshakeTimeouts
	case pb.ErrorCode_ERROR_CODE_SLOW_CONSUMER:
		return &c.slowConsumers
	case pb.ErrorCode_ERROR_CODE_FRAME_TOO_LARGE:
		return &c.framesTooLarge
	case pb.ErrorCode_ERROR_CODE_RATE_LIMITED:
		return &c.rateLimitedConns
	}
	return nil
}
