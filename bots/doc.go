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
//     server's [Checksum] after every frame. It is generic: it decodes any
//     game by the [Schema] the Welcome carries, records by mask bit.
//   - [Client] is one connection: it joins a room ([Dial]), keeps a Mirror,
//     detects desyncs (a checksum mismatch, a delta for another base tick, a
//     malformed frame) and asks for a snapshot, sends inputs numbered from 1,
//     and records [Stats]: updates, ticks missed, latency, bytes, acks, the
//     final scores and the close code.
//   - A [Behaviour] chooses a bot's inputs from its mirror, and a
//     [Messenger] also the game messages it sends: it is the only
//     game-specific part of a bot. For the arena: [Random] (the reference
//     workload's walker) and [Chase] (heads for the nearest orb), both
//     through [Move]; for tanks [Hunt] (aims at the nearest enemy and fires);
//     for connect4 [Connect4] (wins, blocks, else plays a seeded safe
//     column); [Idle] sends the neutral input of any game. [BehaviourFor]
//     picks one by game and name; [RunConfig].NewBehaviour plugs in one for
//     a game of your own (docs/GAMES.md).
//   - [Runner] (or [Run]) plays Rooms × Players bots for a while, joining
//     them over an optional ramp-up, and sums them up in a [Report]: the
//     bots' own figures, the server's (sampled from its /v1/stats endpoint
//     before the first join and at both ends of the measured window), the
//     run second by second ([Series]) and the latency histogram. It can show
//     a live progress line on a terminal, and [Report.WriteHTML] draws the
//     report as one self-contained page. Its Clients stay available for
//     inspection.
//
// # Cost
//
// Thousands of bots share one process. Each costs one goroutine, its read
// loop, which also applies frames (there is no goroutine per bot beyond it),
// a mirror and a latency [Histogram]. gws does the WebSocket handshake only;
// a bot reads its socket itself (bots/wsread.go): on a plain TCP socket by
// system calls from a single RawConn.Read, each read taking every frame the
// socket holds, into a pooled buffer that goes back to the pool whenever
// the bot waits, so an idle bot holds no read buffer. It writes its socket
// itself too (bots/wswrite.go), every frame from the goroutine that sends
// it by one non-blocking system call; a goroutine and a bounded queue serve
// only a socket the server has stopped reading. A bot
// negotiates permessage-deflate itself rather than through gws (gws would
// build a flate writer and reader per connection, about 380 KiB):
// compressed frames are inflated by inflaters the whole process shares, as
// the bot asks for no server context takeover; its own frames are tiny and
// always sent plain.
//
// A server sends every client of a room the same bytes for a tick's frame,
// so with compression on the bots of a process inflate, decode and verify
// each distinct frame once: the first bot to read a message puts it in a
// process-wide, bounded cache (a few ticks of every room); every other bot
// compares its own compressed bytes with the cached ones byte for byte and
// reuses the inflated bytes and the decoded frame, and a bot whose mirror is
// in the state (tick, verified checksum) from which another bot applied and
// verified the frame takes that bot's verified result, copy on write,
// instead of applying and checksumming it again. A bot in any other state,
// or with other bytes, takes the full path. Such a bot's frame costs no
// allocation; the first bot's costs about 16 (11 KiB). A Runner drives
// every bot's inputs from a single ticker
// goroutine and watches the run from another, reading counters the bots add
// to atomically: it locks each bot only to send its inputs.
//
// # Measuring
//
// Latency is a frame's arrival time minus the time its tick was scheduled on
// the server (Welcome's tick0 plus tick/tick_rate), so it is only meaningful
// with clocks that agree, as on one host. Expected updates are tick rate ×
// measured wall-clock seconds, so a server whose tick slips counts the slip
// as loss. Bytes are counted twice: as read from the TCP connection (frames
// as sent, compressed or not) and as WebSocket message payloads after
// inflating. Each bot's figures cover its own window, from its Welcome to
// the end of the run; the server's cover the runner's window, from the end
// of the joins to the end of the run, so that the joins' cost is not in
// server CPU per client update.
package bots
