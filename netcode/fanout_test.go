package netcode

import (
	"io"
	"net"
	"runtime"
	"testing"

	"github.com/klauspost/compress/flate"
)

// loopbackSessions opens n sessions over real loopback TCP connections whose
// client ends are drained by reader goroutines.
func loopbackSessions(tb testing.TB, e *env, n int, deflate bool) []*session {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	out := make([]*session, n)
	for i := range out {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			tb.Fatal(err)
		}
		sc, err := ln.Accept()
		if err != nil {
			tb.Fatal(err)
		}
		go func() { _, _ = io.Copy(io.Discard, c) }()
		tb.Cleanup(func() { _ = c.Close(); _ = sc.Close() })
		out[i] = newSession(e, sc, deflate)
	}
	return out
}

// BenchmarkFanout16 is one room's send path for one tick: encode the delta of
// 64 arena entities once, deflate it once, and queue it to 16 clients whose
// writers put it on real loopback sockets. It waits for every write, so ns/op
// includes the 16 socket writes.
func BenchmarkFanout16(b *testing.B) {
	for _, deflate := range []bool{true, false} {
		name := "deflate"
		if !deflate {
			name = "raw"
		}
		b.Run(name, func(b *testing.B) {
			sessions := loopbackSessions(b, testEnv(Config{}), 16, deflate)
			c, s0, s1 := arenaStates(b)
			enc := newEncoder(c)
			b.ReportAllocs()
			tick := uint64(0)
			for b.Loop() {
				tick++
				f := newFrame(enc.encodeDelta(s0, s1), tick)
				if deflate {
					f.compress(flate.BestSpeed)
				}
				for _, s := range sessions {
					if !s.send(f) {
						b.Fatal("queue overflowed in a benchmark that drains every tick")
					}
				}
				f.release()
				for _, s := range sessions {
					for !s.drained() {
						runtime.Gosched()
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/16, "ns/client-update")
		})
	}
}
