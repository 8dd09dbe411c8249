// Package directory is the lobby's room directory and node registry: which
// rooms exist, on which server node, with how many players, so the lobby can
// list rooms, join private rooms by a short code, backfill matchmade rooms
// and send clients to the right node.
//
// A [Directory] has two implementations that pass one conformance suite:
// [Memory], for a server that runs alone, and [Redis], for several
// `tickwire serve` processes sharing one Redis.
//
// # Lifetimes
//
// The lobby creates a room with [Directory.Create] and a time to live. The
// hosting node's heartbeat, [Directory.ReportRooms], refreshes the players,
// joins and state of its rooms and extends their lives, so the rooms of a
// node that dies vanish once their time to live runs out; a room reported
// [Ended] is removed at once. Nodes announce themselves the same way with
// [Directory.Heartbeat].
//
// # Seats
//
// The lobby hands out join tickets before players arrive. [Directory.Assign]
// records them, atomically refusing to hand out more than [Room.Free] seats,
// so two lobbies never overfill a room. Seats handed out but not yet joined
// are [Room.Pending] until a grace period after the last assignment, when
// the no-shows are forgiven. Seats are handed out to players, one per player
// per room: a player who asks again within the grace of their last seat
// keeps it.
//
// # Listing
//
// [Directory.List] pages through public rooms oldest first with an opaque
// cursor that names the last room looked at, so pages stay stable while
// rooms come and go. The Redis directory keeps an index per mode and per
// matchmade flag, so a filtered list reads only the rooms it can return.
package directory
