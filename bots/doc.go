// Package bots is Tickwire's headless client library: bots that play real
// matches over the wire protocol, to test a server and to load it.
//
// A bot knows only the wire contract (package tickwirev1): it imports nothing
// of the server. What it needs, the protocol must carry.
//
// # Pieces
//
//   - [Mirror] rebuilds a room's state from the Welcome snapshot and the
//     per-tick deltas, in the order the protocol prescribes, and verifies the
//     server's [Checksum] after every frame.
//   - [Client] is one connection: it joins a room ([Dial]), keeps a Mirror,
//     detects desyncs (a checksum mismatch, a delta for another base tick, a
//     malformed frame) and asks for a snapshot, sends inputs numbered from 1,
//     and records [Stats]: updates, ticks missed, latency, bytes, acks, the
//     final scores and the close code.
//   - A [Behaviour] chooses a bot's inputs from its mirror: [Random] (the
//     reference workload's walker), [Chase] (heads for the nearest orb) or
//     [Idle]; [BehaviourByName] picks one by name.
//   - [Runner] (or [Run]) plays Rooms × Players bots for a while and sums
//     them up in a [Report]; its Clients stay available for inspection.
//
// # Cost
//
// Thousands of bots share one process. Each costs gws's read-loop goroutine
// (which also applies frames: there is no goroutine per bot beyond it), a
// small read buffer, a mirror and a latency [Histogram]: about 10 KiB. With
// permessage-deflate gws adds an inflater and a deflater per connection,
// about 380 KiB more, although a bot never compresses: client frames are
// tiny and always sent plain, and the client asks for no server context
// takeover, so it keeps no inflate window between messages. A Runner drives
// every bot's inputs from a single ticker goroutine.
//
// # Measuring
//
// Latency is a frame's arrival time minus the time its tick was scheduled on
// the server (Welcome's tick0 plus tick/tick_rate), so it is only meaningful
// with clocks that agree, as on one host. Expected updates are tick rate ×
// measured wall-clock seconds, so a server whose tick slips counts the slip
// as loss. Bytes are counted twice: as read from the TCP connection (frames
// as sent, compressed or not) and as WebSocket message payloads after
// inflating.
package bots
