// Package netcode is the server side of Tickwire's wire protocol over WebSocket.
//
// A [Server] accepts gws connections on /ws, joins each client to a room, and
// streams state to it. Every tick a room's hub diffs the new state against the
// previous one, encodes ONE delta frame (and compresses it once) and hands the
// same bytes to every in-sync client. Each session owns a small bounded queue of
// frames written by its own writer, so a room's tick never waits on a socket: a
// client whose queue fills has its pending frames dropped, and once its writes
// drain it is caught up with a delta from the last frame it surely got, or a
// full snapshot.
//
// A connection that closes without a Leave does not free its seat at once: the
// player is held, stopped, for Config.RejoinGrace, and a new connection that
// presents the resume token from its Welcome gets the same player back with a
// full snapshot.
//
// Ownership: a hub's state (history, sessions list, seats and their tokens,
// encoder scratch) is touched only by its room's goroutine; a session's queue
// is guarded by its own mutex; the server's registries by theirs.
package netcode
