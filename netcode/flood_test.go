package netcode

import (
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"

	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// Phases of TestFloodingClientDoesNotDisturbItsRoom.
const (
	phaseWarmup = iota
	phaseBaseline
	phaseFlood
	phaseDone
	phases
)

// tickObserver is a client that checks it gets every tick's frame and records
// each frame's latency (arrival minus its tick's scheduled time, one clock on
// loopback), by test phase.
type tickObserver struct {
	gws.BuiltinEventHandler
	phase *atomic.Int32

	mu       sync.Mutex
	welcomed bool
	tick0Us  int64
	rate     uint64
	last     uint64 // tick of the last frame applied
	byPhase  [phases]observed
}

type observed struct {
	frames int
	broken int // a delta not based on the frame before it, or a snapshot: a resync
	jumps  int // tick numbers skipped between frames (the room's own skips)
	lat    []time.Duration
}

func (o *tickObserver) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	now := time.Now()
	var f pb.ServerFrame
	if err := proto.Unmarshal(m.Bytes(), &f); err != nil {
		panic(err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	ph := &o.byPhase[o.phase.Load()]
	switch b := f.Body.(type) {
	case *pb.ServerFrame_Welcome:
		o.welcomed, o.tick0Us, o.rate, o.last = true, b.Welcome.Tick0UnixUs, uint64(b.Welcome.TickRate), b.Welcome.Snapshot.Tick
	case *pb.ServerFrame_Snapshot:
		ph.broken++
		o.last = b.Snapshot.Tick
	case *pb.ServerFrame_Delta:
		d := b.Delta
		if d.BaseTick != o.last {
			ph.broken++
		}
		ph.jumps += int(d.Tick - o.last - 1)
		o.last = d.Tick
		ph.frames++
		scheduled := o.tick0Us + int64(d.Tick*1_000_000/o.rate)
		ph.lat = append(ph.lat, time.Duration(now.UnixMicro()-scheduled)*time.Microsecond)
	}
}

func quantile(d []time.Duration, q float64) time.Duration {
	d = slices.Clone(d)
	slices.Sort(d)
	if len(d) == 0 {
		return 0
	}
	return d[int(float64(len(d)-1)*q)]
}

// TestFloodingClientDoesNotDisturbItsRoom has one client send inputs as fast
// as loopback takes them while three others play in its room. With the flood
// closing turned off (FloodDrops < 0) the limiter alone must protect the
// room: the server reads the flooder at about its rate, the others get every
// tick's frame, never resync, and their latency stays in line with a
// baseline measured in the same test.
func TestFloodingClientDoesNotDisturbItsRoom(t *testing.T) {
	const tickRate = 20
	srv, base := startServer(t, Config{OpenRooms: true, TickRate: tickRate, FloodDrops: -1})
	var phase atomic.Int32
	observers := make([]*tickObserver, 3)
	for i := range observers {
		o := &tickObserver{phase: &phase}
		conn, _, err := gws.NewClient(o, &gws.ClientOption{Addr: base + Path, PermessageDeflate: gws.PermessageDeflate{Enabled: true}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.NetConn().Close() })
		go conn.ReadLoop()
		b, _ := proto.Marshal(joinFrame("crowd"))
		if err := conn.WriteMessage(gws.OpcodeBinary, b); err != nil {
			t.Fatal(err)
		}
		observers[i] = o
	}
	input, _ := proto.Marshal(&pb.ClientFrame{Body: &pb.ClientFrame_Input{Input: &pb.Input{Seq: 1, Values: []uint64{2}}}})
	frame := appendClientFrame(nil, opBinary, input)
	burst := slices.Repeat(frame, 4096) // 40 KiB of inputs per write
	waitUntil(t, "everyone joined", func() bool {
		for _, o := range observers {
			o.mu.Lock()
			ok := o.welcomed
			o.mu.Unlock()
			if !ok {
				return false
			}
		}
		return srv.Stats().StateFramesOut > 4*tickRate/2
	})

	// Baseline and flood alternate, twice, so that load from elsewhere on the
	// machine falls on both alike.
	const phaseTime, rounds = 1500 * time.Millisecond, 2
	const maxBursts = 20_000 // at most 80M frames: bounded in count as well as time
	skippedIn := map[int32]uint64{}
	measure := func(ph int32, during func()) {
		before := srv.RoomStats()["crowd"].Skipped
		phase.Store(ph)
		during()
		phase.Store(phaseDone)
		skippedIn[ph] += srv.RoomStats()["crowd"].Skipped - before
	}
	var sent uint64
	var flooded, connected time.Duration
	before := srv.Stats()
	for range rounds {
		measure(phaseBaseline, func() { time.Sleep(phaseTime) })
		dialed := time.Now()
		flooder := dialRawWS(t, base)
		flooder.writeFrame(t, joinFrame("crowd"))
		go func() { _, _ = io.Copy(io.Discard, flooder.br) }() // it must not become a slow consumer
		measure(phaseFlood, func() {
			start := time.Now()
			_ = flooder.SetWriteDeadline(start.Add(phaseTime))
			for bursts := 0; bursts < maxBursts; bursts++ {
				n, err := flooder.Write(burst)
				sent += uint64(n / len(frame))
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break // the socket took no more within the phase
				}
				if err != nil {
					t.Fatalf("flooder write: %v", err)
				}
			}
			flooded += time.Since(start)
		})
		// Reset the connection: what the server has not read of the flood is
		// discarded, and the next baseline is one.
		_ = flooder.Conn.(*net.TCPConn).SetLinger(0)
		_ = flooder.Close()
		waitUntil(t, "flooder gone", func() bool { return srv.Stats().Connections == int64(len(observers)) })
		connected += time.Since(dialed)
	}
	after := srv.Stats()

	in := after.FramesIn - before.FramesIn
	limited := after.FramesRateLimited - before.FramesRateLimited
	t.Logf("flood: %d frames written in %v; the server read %d and dropped %d of them in the %v the flooders were connected",
		sent, flooded.Round(time.Millisecond), in, limited, connected.Round(time.Millisecond))
	// The flood hit the limit, and the server read the flooders at about
	// their rate: the burst, then a frame per token and one dropped between;
	// the rest waited in the flooders' sockets.
	cfg := srv.cfg
	taken := in - limited
	if limited == 0 || float64(taken) > float64(rounds*cfg.ClientBurst)+cfg.ClientRate*connected.Seconds()+2*rounds {
		t.Fatalf("%d frames taken and %d dropped in %v at %v/s with bursts of %d", taken, limited, connected, cfg.ClientRate, cfg.ClientBurst)
	}
	if limited > taken+rounds {
		t.Fatalf("%d frames dropped but %d taken: reads do not wait for the next token", limited, taken)
	}
	// The flooder's burst overfills its own share of the room's input queue
	// (those inputs are dropped and counted); the observers send none.
	if after.RateLimitedConns != 0 {
		t.Fatalf("stats %+v: want no flood closes", after)
	}

	var baseLat, floodLat []time.Duration
	for i, o := range observers {
		o.mu.Lock()
		b, f := o.byPhase[phaseBaseline], o.byPhase[phaseFlood]
		o.mu.Unlock()
		if b.broken != 0 || f.broken != 0 {
			t.Errorf("observer %d: %d resyncs in the baseline, %d in the flood; want none", i, b.broken, f.broken)
		}
		// Every tick the room ran reached every observer: it got a frame per
		// tick, and tick numbers jump only where the room skipped slots.
		if b.jumps > int(skippedIn[phaseBaseline]) || f.jumps > int(skippedIn[phaseFlood]) {
			t.Errorf("observer %d: tick numbers skipped %d (baseline) and %d (flood); the room skipped %d and %d",
				i, b.jumps, f.jumps, skippedIn[phaseBaseline], skippedIn[phaseFlood])
		}
		if f.frames < rounds*tickRate || b.frames < rounds*tickRate {
			t.Errorf("observer %d: %d frames in the baseline, %d in the flood; the room stopped ticking", i, b.frames, f.frames)
		}
		baseLat = append(baseLat, b.lat...)
		floodLat = append(floodLat, f.lat...)
	}
	bp50, bp90 := quantile(baseLat, 0.5), quantile(baseLat, 0.9)
	fp50, fp90 := quantile(floodLat, 0.5), quantile(floodLat, 0.9)
	t.Logf("latency p50/p90: baseline %v/%v (%d frames), flood %v/%v (%d frames); room skipped %d and %d slots",
		bp50, bp90, len(baseLat), fp50, fp90, len(floodLat), skippedIn[phaseBaseline], skippedIn[phaseFlood])
	// The factors and slack leave room for a noisy machine, not for a flood
	// that costs the room a tick.
	tick := time.Second / tickRate
	if fp50 > 3*bp50+tick/10 || fp90 > 3*bp90+tick/2 {
		t.Fatalf("latency p50/p90 %v/%v under the flood against %v/%v without: the flood delays the room", fp50, fp90, bp50, bp90)
	}
}
