// Package game runs authoritative rooms on a fixed tick.
//
// A game developer implements [Game] to plug in their own rules, and declares
// what the game's state is made of in a [Schema]: entity kinds with named,
// typed fields, the fields of every player and of the room, and the input a
// player sends. Everything below the game (the encoder, the wire, the
// checksum, the bots, any client) follows from that declaration. Package
// game/arena is the default game and the reference workload of every
// benchmark, built on this package's public API alone.
//
// Beyond its rules a Game may implement the match hooks: [Admitter] refuses
// joins with its own code and message (and reads the party and rating of the
// player's lobby ticket), [Holder] hears of seats held for a rejoin,
// [Messenger] takes the game messages clients send, and [Chatter] moderates
// room chat. From any callback it may send events to players
// ([World.Send]) and end its own match ([World.EndMatch]).
//
// A [Sim] is the deterministic core: a [World] of entities and players, the
// match lifecycle and the input queue. A [Room] drives a Sim from its own
// goroutine on a fixed schedule and reports every tick to an [Observer], and
// how long it took to [RoomConfig.OnTick]: the room keeps recent tick timing
// ([Room.Stats]) but leaves metrics (histograms, exporters) to its owner.
//
// Every number a game stores is an integer: fixed-point fields and positions
// count steps of their declared precision, angles count steps of a turn. So a
// simulation is deterministic given its seed and inputs, and what clients
// receive is exactly the authoritative state. This package knows nothing of
// sockets, HTTP or protobuf, and imports no other package of this module
// (a test checks it).
package game
