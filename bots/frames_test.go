package bots

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/internal/wsframe"
	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// readAllFrames reads the messages of stream as a bot does, through the
// given cache.
func readAllFrames(t *testing.T, cache *frameCache, stream []byte) []plainFrame {
	t.Helper()
	frames, err := readAll(&rawConn{r: bytes.NewReader(stream), chunk: 4096}, cache, maxFrameSize)
	if err != io.EOF {
		t.Fatal(err)
	}
	return frames
}

func TestFrameCacheComparesBytes(t *testing.T) {
	a, b := []byte("frame of room a"), []byte("frame of room b")
	za, zb := wsframe.Deflate(nil, a, flate.BestSpeed), wsframe.Deflate(nil, b, flate.BestSpeed)
	cache := newFrameCache(1<<20, 16, time.Hour)

	// Room a's bytes cached under the hash of room b's, as a collision would.
	cache.add(maphash.Bytes(cache.seed, zb), za, a)
	stream := append(frame(wsFIN|wsRSV1|0x2, zb), frame(wsFIN|wsRSV1|0x2, za)...)
	for bot := range 2 {
		frames := readAllFrames(t, cache, stream)
		if len(frames) != 2 || frames[0].payload != string(b) || frames[1].payload != string(a) {
			t.Fatalf("bot %d got %q, want %q then %q", bot, frames, b, a)
		}
	}
	if e, _ := cache.lookup(zb); e == nil || !bytes.Equal(e.inflated, b) {
		t.Fatalf("room b's bytes not cached as room b's frame: %+v", e)
	}
}

func TestFrameCacheRefusesPastTheLimit(t *testing.T) {
	big := bytes.Repeat([]byte{'x'}, 5000)
	z := wsframe.Deflate(nil, big, flate.BestSpeed)
	cache := newFrameCache(1<<20, 16, time.Hour)
	if got := readAllFrames(t, cache, frame(wsFIN|wsRSV1|0x2, z)); len(got) != 1 || len(got[0].payload) != len(big) {
		t.Fatalf("first bot got %d frames", len(got))
	}
	// A bot with a smaller limit refuses the cached message as it would
	// refuse to inflate it.
	if _, err := readAll(bytes.NewReader(frame(wsFIN|wsRSV1|0x2, z)), cache, 4096); !errors.Is(err, errInflatedTooLarge) {
		t.Fatalf("error %v, want errInflatedTooLarge", err)
	}
}

func TestFrameCacheBounds(t *testing.T) {
	msg := func(i int) []byte { return []byte{byte(i), byte(i >> 8), 1, 2, 3} }
	add := func(fc *frameCache, i, size int) {
		fc.add(maphash.Bytes(fc.seed, msg(i)), msg(i), make([]byte, size))
	}
	cached := func(fc *frameCache, i int) bool { e, _ := fc.lookup(msg(i)); return e != nil }

	byCount := newFrameCache(1<<20, 4, time.Hour)
	for i := range 10 {
		add(byCount, i, 10)
	}
	if n := byCount.len(); n != 4 || cached(byCount, 5) || !cached(byCount, 6) || !cached(byCount, 9) {
		t.Errorf("by count: %d entries, 5 cached %v, 6 %v, 9 %v; want the newest 4", n, cached(byCount, 5), cached(byCount, 6), cached(byCount, 9))
	}

	bySize := newFrameCache(20000, 100, time.Hour)
	for i := range 10 {
		add(bySize, i, 1000) // about 4.5 KB each as counted
	}
	if n := bySize.len(); n < 3 || n > 4 || cached(bySize, 0) || !cached(bySize, 9) {
		t.Errorf("by size: %d entries (%d bytes), 0 cached %v; want the newest 3 or 4", n, bySize.bytes, cached(bySize, 0))
	}

	byAge := newFrameCache(1<<20, 100, time.Minute)
	for i := range 5 {
		add(byAge, i, 10)
	}
	byAge.mu.Lock()
	for i := range byAge.n {
		byAge.ring[(byAge.head+i)%byAge.maxEntries].added = time.Now().Add(-2 * time.Minute)
	}
	byAge.mu.Unlock()
	add(byAge, 5, 10)
	if n := byAge.len(); n != 1 || cached(byAge, 4) || !cached(byAge, 5) {
		t.Errorf("by age: %d entries, want only the new one", n)
	}

	huge := newFrameCache(1<<30, 4, time.Hour)
	if e := huge.add(1, make([]byte, maxCachedMessage+1), nil); e != nil || huge.len() != 0 {
		t.Errorf("a message past maxCachedMessage was cached")
	}
}

// TestSharedVerification: bots of one room receiving identical bytes end up
// in the same verified state, the later ones from the cache, while a bot in
// another prior state that receives the same bytes verifies them itself and
// finds the mismatch.
func TestSharedVerification(t *testing.T) {
	state, wire := compressedBenchFrames(t)
	cache := newFrameCache(1<<20, 16, time.Hour)
	bot := func(s State) *receiver {
		r := newReceiver(t, s, wire)
		r.in.cache = cache
		return r
	}
	first, second := bot(state), bot(state)
	first.next(t)
	e, _ := cache.lookup(firstPayload(t, wire))
	if e == nil {
		t.Fatal("the first bot's frame is not cached")
	}
	from := verifiedFrom{schema: first.c.mirror.schema.fingerprint, tick: 1, checksum: Checksum(testSchema, state.Entities, state.Players, state.Room)}
	if _, ok := e.result(from); !ok {
		t.Fatal("the first bot's full verification is not recorded")
	}
	second.next(t)
	if s := second.c.Stats(); s.Deltas != 1 || s.Desyncs != 0 || !second.c.Synced() {
		t.Fatalf("second bot: %d deltas, %d desyncs, synced %v", s.Deltas, s.Desyncs, second.c.Synced())
	}
	a, b := first.c.State(), second.c.State()
	if a.Tick != 2 || b.Tick != 2 || Checksum(testSchema, b.Entities, b.Players, b.Room) != a.Checksum || b.Checksum != a.Checksum {
		t.Fatalf("second bot at tick %d checksum %#x (recomputed %#x), first at %d %#x",
			b.Tick, b.Checksum, Checksum(testSchema, b.Entities, b.Players, b.Room), a.Tick, a.Checksum)
	}
	f, _ := e.decoded()
	var fresh tickwirev1.ServerFrame
	if err := proto.Unmarshal(e.inflated, &fresh); err != nil || !proto.Equal(f, &fresh) {
		t.Fatalf("the shared frame changed while bots applied it: %v", err)
	}

	// The second bot's next frame, applied by itself, leaves the first bot's
	// state (which it took) alone.
	_, frames := benchFrames(t)
	var next tickwirev1.ServerFrame
	if err := proto.Unmarshal(frames[1], &next); err != nil {
		t.Fatal(err)
	}
	second.c.mu.Lock()
	err := second.c.mirror.ApplyDelta(next.GetDelta())
	second.c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if after := first.c.State(); !reflect.DeepEqual(after, a) {
		t.Fatalf("the first bot's state changed when the second applied a frame:\n%+v\nwant\n%+v", after, a)
	}
	if s := second.c.State(); s.Tick != 3 || s.Checksum == a.Checksum {
		t.Fatalf("second bot at tick %d checksum %#x after its own frame", s.Tick, s.Checksum)
	}

	other := state
	other.Room = room(7) // same tick, another verified state
	third := bot(other)
	third.next(t)
	if s := third.c.Stats(); s.Desyncs != 1 || third.c.Synced() {
		t.Fatalf("a bot in another state applied the shared frame: %d desyncs, synced %v", s.Desyncs, third.c.Synced())
	}
}

// firstPayload is the compressed payload of the first message of wire.
func firstPayload(t *testing.T, wire []byte) []byte {
	h, n, err := wsframe.ParseHeader(wire)
	if err != nil {
		t.Fatal(err)
	}
	return wire[n : n+int(h.Length)]
}

// TestSharedFrameConcurrent: a room's bots on their own goroutines share one
// cache (run with -race).
func TestSharedFrameConcurrent(t *testing.T) {
	state, wire := compressedBenchFrames(t)
	cache := newFrameCache(1<<20, 16, time.Hour)
	const bots, rounds = 16, 50
	var wg sync.WaitGroup
	results := make([]Stats, bots)
	failed := make(chan string, bots)
	for i := range bots {
		r := newReceiver(t, state, wire)
		r.in.cache = cache
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					failed <- p.(string)
				}
			}()
			tb := panicTB{t}
			for range rounds {
				r.next(tb)
				r.next(tb)
				r.rewind()
			}
			results[i] = r.c.Stats()
		})
	}
	wg.Wait()
	close(failed)
	for msg := range failed {
		t.Error(msg)
	}
	for i, s := range results {
		if s.Deltas != 2*rounds || s.Desyncs != 0 || s.BadFrames != 0 {
			t.Errorf("bot %d: %d deltas, %d desyncs, %d bad frames", i, s.Deltas, s.Desyncs, s.BadFrames)
		}
	}
	if n := cache.len(); n != 2 {
		t.Errorf("%d entries cached for 2 distinct frames", n)
	}
}

// TestSharedEventsAreCopied: a game message handed to one bot's OnEvent is
// its own, even when the frame came from the cache.
func TestSharedEventsAreCopied(t *testing.T) {
	state, _ := compressedBenchFrames(t)
	ev, _ := proto.Marshal(&tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_Events{Events: &tickwirev1.GameEvents{
		Tick: 1, Messages: []*tickwirev1.GameMessage{{Op: 1, Data: []byte("boom at 3,4")}},
	}}})
	wire := frame(wsFIN|wsRSV1|0x2, wsframe.Deflate(nil, ev, flate.BestSpeed))
	cache := newFrameCache(1<<20, 16, time.Hour)
	var seen []string
	for range 3 {
		r := newReceiver(t, state, wire)
		r.in.cache = cache
		r.c.cfg.OnEvent = func(_ uint64, _ uint32, data []byte) {
			seen = append(seen, string(data))
			copy(data, "XXXX") // the callback owns its copy
		}
		r.next(t)
	}
	for i, s := range seen {
		if s != "boom at 3,4" {
			t.Errorf("bot %d got %q", i, s)
		}
	}
	if len(seen) != 3 {
		t.Errorf("%d events, want 3", len(seen))
	}
}

// panicTB turns Fatal into a panic, for helpers run off the test goroutine.
type panicTB struct{ testing.TB }

func (p panicTB) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (p panicTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (p panicTB) Helper()                           {}
