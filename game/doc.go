// Package game runs authoritative rooms on a fixed tick.
//
// A game developer implements [Game] to plug in their own rules; [Arena] is the
// default implementation and the reference workload of every benchmark. A [Sim]
// is the deterministic core: a [World] of entities and players, the match
// lifecycle and the input queue. A [Room] drives a Sim from its own goroutine on a
// fixed schedule and reports every tick to an [Observer].
//
// Positions are fixed-point integers in 1/[Unit] of a world unit, so a simulation
// is deterministic given its seed and inputs, and what clients receive is exactly
// the authoritative state. This package knows nothing of sockets, HTTP or
// protobuf.
package game
