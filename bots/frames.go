package bots

import (
	"bytes"
	"hash/maphash"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// A server encodes and compresses one state frame per room per tick and
// writes the identical bytes to every client of the room (permessage-deflate
// without context takeover), so a process running 16 bots per room receives
// every frame 16 times. The frame cache lets the first bot to receive a
// message inflate, decode and verify it, and every other bot reuse that
// work: each bot still reads its own bytes from its own socket and compares
// them byte for byte with the cached ones, and a bot whose bytes or prior
// state differ takes the full path.

// Bounds of the process-wide frame cache. A frame is useful to the other
// bots of its room for as long as the server takes to write it to all of
// them and they take to read it: normally well under a tick (50 ms at 20 Hz),
// a few ticks for a bot that lags. So entries live frameCacheAge (5 ticks
// at 20 Hz), within a cap: at R rooms the arena sends R frames of about
// 2.5 KB cached (compressed, inflated and decoded) per tick, about 600 KB
// at 50 rooms and 3.2 MB at the server's default maximum of 256 rooms, a
// fixed cost that does not grow with the bots per room.
const (
	frameCacheBytes   = 4 << 20
	frameCacheEntries = 4096
	frameCacheAge     = 250 * time.Millisecond
	// maxCachedMessage is the largest compressed message cached; larger ones
	// (snapshots of very large rooms) take the full path.
	maxCachedMessage = 64 << 10
)

// sharedFrames is the frame cache of every bot in the process.
var sharedFrames = newFrameCache(frameCacheBytes, frameCacheEntries, frameCacheAge)

// frameCache holds the messages bots of the process received recently: a
// bounded FIFO (oldest out first, by count and by estimated bytes), indexed
// by a hash of the compressed bytes, entries older than maxAge dropped as new
// ones come. Safe for concurrent use.
type frameCache struct {
	seed       maphash.Seed
	maxBytes   int
	maxEntries int
	maxAge     time.Duration

	mu      sync.Mutex              // guards everything below
	byHash  map[uint64]*cachedFrame // the newest entry per hash
	ring    []*cachedFrame          // insertion order: oldest at head
	head, n int
	bytes   int // estimated cost of the entries in ring
}

func newFrameCache(maxBytes, maxEntries int, maxAge time.Duration) *frameCache {
	return &frameCache{
		seed:       maphash.MakeSeed(),
		maxBytes:   maxBytes,
		maxEntries: maxEntries,
		maxAge:     maxAge,
		byHash:     make(map[uint64]*cachedFrame),
		ring:       make([]*cachedFrame, maxEntries),
	}
}

// cachedFrame is one message as some bot of the process received it. Its
// byte slices and its decoded frame are never modified once it is in the
// cache, and its buffers are never recycled, so any bot may read them.
type cachedFrame struct {
	hash       uint64
	compressed []byte // the message's compressed payload, as received
	inflated   []byte // its payload inflated
	cost       int
	added      time.Time

	decodeOnce sync.Once
	frame      *tickwirev1.ServerFrame // read only; nil if the bytes did not decode
	decodeErr  error

	mu       sync.Mutex        // guards verified
	verified [4]verifiedResult // a small ring: one room shares one prior state
	nv       int
}

// verifiedResult is a prior state from which a mirror applied the frame and
// verified the result in full, and that result, which any mirror in the
// same prior state may take as its own.
type verifiedResult struct {
	from  verifiedFrom
	state *sharedState
}

// verifiedFrom is a mirror's state before applying a frame, as far as the
// result depends on it: the schema it decoded by, and for a delta the tick
// and the verified checksum it was at (a snapshot replaces the whole state,
// so only the schema counts). Applying the same bytes to a mirror in the
// same state is deterministic.
type verifiedFrom struct {
	schema   uint64
	tick     uint64
	checksum uint32
	snapshot bool
}

// sharedState is a mirror's verified entities, players and room, given
// away to every mirror of the process that reaches the same state from the
// same frame. Nobody modifies it: a mirror holding it copies it before it
// applies the next frame itself (see Mirror.detach).
type sharedState struct {
	entities []Entity
	players  []Player
	room     Record
}

// lookup returns the cached entry whose compressed bytes equal msg, or nil.
//
// Hot path: once per compressed message per bot; allocates nothing.
func (fc *frameCache) lookup(msg []byte) (*cachedFrame, uint64) {
	h := maphash.Bytes(fc.seed, msg)
	fc.mu.Lock()
	e := fc.byHash[h]
	fc.mu.Unlock()
	if e != nil && bytes.Equal(e.compressed, msg) {
		return e, h
	}
	return nil, h
}

// add caches a copy of the compressed message msg (of hash h) and its
// inflated payload, and returns the entry, or nil for a message too large
// to cache. Other bots may have added the same bytes meanwhile: the newer
// entry wins the index, both are correct.
func (fc *frameCache) add(h uint64, msg, inflated []byte) *cachedFrame {
	if len(msg) > maxCachedMessage {
		return nil
	}
	e := &cachedFrame{
		hash:       h,
		compressed: bytes.Clone(msg),
		inflated:   bytes.Clone(inflated),
		// The decoded frame holds about three times the inflated bytes
		// (varints become 8-byte words), plus the structs.
		cost:  len(msg) + 4*len(inflated) + 512,
		added: time.Now(),
	}
	if e.inflated == nil {
		e.inflated = []byte{}
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	for fc.n > 0 && (fc.n == fc.maxEntries || fc.bytes+e.cost > fc.maxBytes || e.added.Sub(fc.ring[fc.head].added) > fc.maxAge) {
		fc.evictOldest()
	}
	fc.ring[(fc.head+fc.n)%fc.maxEntries] = e
	fc.n++
	fc.bytes += e.cost
	fc.byHash[h] = e
	return e
}

// evictOldest drops the oldest entry; fc.mu must be held. Bots that still
// hold it keep using it: only the index forgets it.
func (fc *frameCache) evictOldest() {
	e := fc.ring[fc.head]
	fc.ring[fc.head] = nil
	fc.head = (fc.head + 1) % fc.maxEntries
	fc.n--
	fc.bytes -= e.cost
	if fc.byHash[e.hash] == e {
		delete(fc.byHash, e.hash)
	}
}

// len is the number of entries cached.
func (fc *frameCache) len() int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.n
}

// decoded returns the frame its bytes decode to, decoding it on first use.
// The frame is shared by every bot that received these bytes: it must not
// be modified.
func (e *cachedFrame) decoded() (*tickwirev1.ServerFrame, error) {
	e.decodeOnce.Do(func() {
		var f tickwirev1.ServerFrame
		if e.decodeErr = proto.Unmarshal(e.inflated, &f); e.decodeErr == nil {
			e.frame = &f
		}
	})
	return e.frame, e.decodeErr
}

// result returns the verified result of applying this frame to a mirror in
// the prior state v, if a mirror did.
func (e *cachedFrame) result(v verifiedFrom) (*sharedState, bool) {
	if e == nil || v.schema == 0 {
		return nil, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, w := range e.verified[:min(e.nv, len(e.verified))] {
		if w.from == v {
			return w.state, true
		}
	}
	return nil, false
}

// publish records that a mirror applied this frame from v and verified the
// result, st, in full.
func (e *cachedFrame) publish(v verifiedFrom, st *sharedState) {
	if e == nil || v.schema == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.verified[e.nv%len(e.verified)] = verifiedResult{v, st}
	e.nv++
}
