// Package matchmaker groups queued players into rooms.
//
// A player, or a party that must stay together, queues a [Ticket] for a game
// [Mode]. A [Matcher] runs a pass every second: for each mode it reads the
// queued tickets from a [Queue], groups them with [Match], asks the caller's
// Place function for a room and node for each group, and stores the resulting
// [Assignment] on every ticket of the group at once, each ticket with the join
// tickets of its own members only. Clients long-poll their ticket with
// Queue.Wait and then join the room with the signed join ticket found in the
// assignment.
//
// A player is on one queued ticket at most. A player who queues a ticket of
// their own while named in another's queued party leaves that party: its
// ticket is cancelled in the same step, as parties never split, so being
// named in a party never keeps anyone from queueing.
//
// # Matching
//
// [Match] is pure: no I/O, no clock of its own. A ticket's rating window starts
// at Mode.Window and widens by Mode.Widen per second of waiting, up to
// Mode.MaxWindow. Two tickets may share a room only if each one's rating is
// within the other's window, and a group needs every pair to be compatible,
// which holds exactly when the intersection of its members' windows contains
// all their ratings. That is stricter than checking everyone against the
// oldest ticket only, which would let two players twice a window apart meet.
// Parties never split, open rooms are backfilled first, and the oldest tickets
// anchor new rooms first, each filled with the compatible tickets nearest to
// it in rating. A pass sorts once and then finds each member in O(log n), so
// 10,000 tickets take about 10 ms (BenchmarkMatch10000), even when no room can
// be filled (BenchmarkMatch10000Unfillable).
//
// # Queues
//
// [Memory] keeps the queue in the process, for a server that runs alone; its
// Wait wakes on a channel. [Redis] keeps it in Redis, for several servers
// sharing one; its writes are Lua scripts, so Assign is all-or-nothing even
// when a player cancels during a pass on another node, and its Wait wakes on
// pub/sub. Both pass one conformance suite, and both keep a ticket that left
// the queue readable for DefaultRetain, so a client polling late still finds
// its assignment. A ticket left queued longer than Config.MaxWait expires.
//
// # Several nodes
//
// Every node may run a Matcher on the same Redis queue: before each pass a
// Matcher takes the Queue lock [LockName] for three intervals, so one node
// matches at a time and another takes over within three intervals if it dies.
// The lock is an optimisation, not what keeps a ticket from being assigned
// twice: Assign is, so a pass that outlives its lock is still safe.
//
// Compared with Nakama's matchmaker, which this package is modelled on: the
// window widens on the server as a ticket waits, instead of the client
// resubmitting wider criteria; compatibility is always checked both ways for
// every pair (Nakama checks the reverse direction only with rev_precision, and
// falls back to one-way matches after rev_threshold intervals); backfill of
// running rooms is part of the pass; and a pass needs no search index kept
// up to date between passes.
package matchmaker
