package bots

import (
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/internal/wsframe"
	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// receiver is one bot's receive path over a "socket" that yields one
// compressed server frame per read: the bot's wsReader and the Client's
// frame handler.
type receiver struct {
	c  *Client
	in *wsReader
}

// newReceiver welcomes a client into state and reads the compressed frames
// of wire from its socket, as the server sends them, over and over.
func newReceiver(tb testing.TB, state State, wire []byte) *receiver {
	tb.Helper()
	c, err := newClient(Config{URL: "ws://127.0.0.1:1", RoomID: "r", Name: "n", meter: newMeter()})
	if err != nil {
		tb.Fatal(err)
	}
	c.writer = &fakeConn{}
	welcome, _ := proto.Marshal(&tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_Welcome{Welcome: &tickwirev1.Welcome{
		PlayerId: 1, EntityId: 1, TickRate: 20, Tick0UnixUs: time.Now().UnixMicro(), Snapshot: snapshotOf(state),
		Schema: testWireSchema(),
	}}})
	c.handleMessage(gws.OpcodeBinary, welcome, time.Now())
	src := &frameReader{}
	for len(wire) > 0 {
		h, n, err := wsframe.ParseHeader(wire)
		if err != nil {
			tb.Fatal(err)
		}
		src.frames = append(src.frames, wire[:n+int(h.Length)])
		wire = wire[n+int(h.Length):]
	}
	in := &wsReader{src: src, sink: (*clientSink)(c), deflate: true, limit: maxFrameSize,
		cache: newFrameCache(1<<20, 16, time.Hour)} // this receiver's own, for the benchmark to empty
	c.reader = in
	return &receiver{c: c, in: in}
}

// frameReader yields its frames one per read, round and round.
type frameReader struct {
	frames [][]byte
	i      int
}

func (f *frameReader) Read(p []byte) (int, error) {
	n := copy(p, f.frames[f.i])
	f.i = (f.i + 1) % len(f.frames)
	return n, nil
}

// next reads one frame and hands its message to the client.
func (r *receiver) next(tb testing.TB) {
	if err := r.in.readOnce(); err != nil {
		tb.Fatal(err)
	}
	if r.in.n != 0 {
		tb.Fatalf("%d bytes of a frame left", r.in.n)
	}
}

// rewind puts the client back at tick 1 after the second bench frame (whose
// state is tick 1's), so the same bytes apply again.
func (r *receiver) rewind() {
	r.c.mu.Lock()
	r.c.mirror.tick, r.c.lastUpdateTick = 1, 1
	r.c.mu.Unlock()
}

func (r *receiver) check(tb testing.TB) {
	tb.Helper()
	if s := r.c.Stats(); s.Desyncs != 0 || s.BadFrames != 0 || s.Deltas == 0 {
		tb.Fatalf("deltas %d desyncs %d bad frames %d", s.Deltas, s.Desyncs, s.BadFrames)
	}
}

// reset empties the cache.
func (fc *frameCache) reset() {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	clear(fc.byHash)
	clear(fc.ring)
	fc.head, fc.n, fc.bytes = 0, 0, 0
}

// compressedBenchFrames are the two bench deltas as the server writes them to
// a deflate client: deflated at the server's default level, one frame each.
func compressedBenchFrames(b testing.TB) (State, []byte) {
	state, frames := benchFrames(b)
	var wire []byte
	for _, f := range frames {
		wire = append(wire, frame(wsFIN|wsRSV1|0x2, wsframe.Deflate(nil, f, flate.BestSpeed))...)
	}
	return state, wire
}

// BenchmarkReceive measures one arena frame end to end as a bot receives it
// (64 entities, all moving): compressed bytes in, inflated, decoded, applied
// to the mirror and verified against the frame's checksum, the frame handler
// and its live meter included. "miss" is the first bot of the process to see
// these bytes; "hit" is every other bot of the room, seeing identical bytes.
func BenchmarkReceive(b *testing.B) {
	state, wire := compressedBenchFrames(b)
	b.Run("miss", func(b *testing.B) {
		r := newReceiver(b, state, wire)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			r.in.cache.reset()
			r.next(b)
			if i%2 == 1 {
				r.rewind()
			}
		}
		r.check(b)
	})
	b.Run("hit", func(b *testing.B) {
		r := newReceiver(b, state, wire)
		r.next(b)
		r.next(b)
		r.rewind()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			r.next(b)
			if i%2 == 1 {
				r.rewind()
			}
		}
		r.check(b)
	})
}
