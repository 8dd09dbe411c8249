// Package floor measures the loopback write floor: what the kernel charges a
// process for one plain TCP write of a game update's size to each of many
// loopback connections, at a game's tick rate. It is the denominator of an
// honest "server CPU per client-update delivered" figure: measured on the same
// machine beside an arena run, the ratio of the two says how much of the
// server's cost is its own and how much is the kernel's.
//
// # What runs
//
// [Run] is the sender. It listens on 127.0.0.1, has its [Readers] open
// Config.Conns connections to it, and once all of them are up writes one
// Config.Size-byte buffer to every connection per tick, Config.Rate ticks a
// second, for Config.Duration. Each write is one conn.Write of the whole frame
// (TCP_NODELAY, Go's default, so one segment), as a server's per-client writer
// does. The writes of a tick are shared by Config.Workers goroutines (default
// GOMAXPROCS), each owning a fixed slice of the connections: that is how a Go
// server's per-client writers spread over the cores, without the cost of one
// goroutine wake-up per write, which belongs to the server rather than to the
// floor. Ticks follow the schedule start + k/Rate the way a room's loop does: a
// late tick runs at once, and a loop more than three slots behind skips the
// missed slots and counts them.
//
// The receivers run in another process ([Process], which re-executes the
// program with [ReaderEnv] set; the program hands that to [ReaderMain]), so
// their reads are not charged to the sender. They read and discard everything,
// one goroutine per connection. [InProcess] runs them in the sender's process
// instead, for tests, at the price of charging their CPU to it.
//
// # What is measured
//
// The sender's user+system CPU time (getrusage RUSAGE_SELF) over the measured
// window, which starts once every connection is up and a GC has run (setup is
// excluded) and ends when the last tick's writes return; divided by the writes
// done it gives the sender's CPU per write. Alongside: writes done against
// expected (Conns × Rate × Duration), bytes, write errors, skipped ticks, how
// late ticks started and how long a tick's writes took.
//
// On loopback the figure is "kernel send plus loopback receive": the loopback
// device hands the segment to the receive path inside the sender's write, and
// the softirq that runs tcp_v4_rcv, queues the data on the receiver's socket
// and wakes the reader runs in the sender's context and is charged to it
// (unless the kernel accounts IRQ time apart, CONFIG_IRQ_TIME_ACCOUNTING). The
// reader's own wake-up and read, and the ACKs it sends back (processed in its
// context), are not in the figure. A server measured with loopback clients is
// charged the same way, so the ratio of the two stays fair.
package floor
