package leaderboard

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// op is a request to the writer: a submit or a change of boards.
type op struct {
	submit *submitReq
	admin  *adminReq
}

type submitReq struct {
	b                    *boltBoard
	season, player, name string
	score, updated       int64
	done                 chan submitRes // buffered; the writer sends once per request
}

// submitReqs recycles requests with their channels. The writer forgets a
// request once it has answered it.
var submitReqs = sync.Pool{New: func() any { return &submitReq{done: make(chan submitRes, 1)} }}

// submitRes is a submit's outcome: the record now in ix, at node.
type submitRes struct {
	ix   *index
	node *node
	rec  record
	err  error
}

// adminReq runs fn in a transaction of its own; after, if fn returns one,
// runs once it commits.
type adminReq struct {
	fn   func(tx *bolt.Tx) (after func(), err error)
	done chan error
}

// writerState is the writer goroutine's own.
type writerState struct {
	commits [2]commit   // one being committed, one being applied
	logLen  int         // entries in the log
	ckptAt  int         // logLen at which to begin a checkpoint
	lastSeq uint64      // of the newest log entry
	ckpt    *checkpoint // in progress, or nil
}

type overlayKey struct {
	ix     *index
	player string
}

type pendingSubmit struct {
	req  *submitReq
	ix   *index
	node *node // the player's, if known
	rec  record
	err  error
}

// dirtyNode is an entry a checkpoint writes: put since the one before began.
type dirtyNode struct {
	b      *boltBoard
	season string
	ix     *index
	n      *node
}

// checkpoint is a pass folding the log, up to entry upto, into the
// per-player records: first todo, a chunk per transaction, then dropping
// the log entries.
type checkpoint struct {
	upto    uint64
	todo    []dirtyNode // by board and season, then player
	began   time.Time
	written int
}

// Sizes of a checkpoint's transactions.
const (
	chunkSize = 2048  // records written per commit
	dropSize  = 20000 // log entries dropped per commit
)

// send hands an op to the writer.
func (s *BoltStore) send(ctx context.Context, o op) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed.Load() {
		return ErrClosed
	}
	select {
	case s.ops <- o:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// admin runs fn in the writer and waits for it.
func (s *BoltStore) admin(ctx context.Context, fn func(tx *bolt.Tx) (func(), error)) error {
	req := &adminReq{fn: fn, done: make(chan error, 1)}
	if err := s.send(ctx, op{admin: req}); err != nil {
		return err
	}
	return <-req.done
}

// writer runs every write: submits grouped into commits, board changes,
// and checkpoints.
//
// Commits are pipelined: while one commit's transaction is written and
// synced, the writer applies the one before to the indexes and answers its
// Submits. A commit's results are worked out from the indexes plus the
// records of the commit not yet applied (prev). While a checkpoint is in
// progress, each commit also carries a chunk of it, so it costs no sync of
// its own.
func (s *BoltStore) writer() {
	defer close(s.done)
	var prev *commit
	batch := make([]op, 0, s.opt.MaxBatchSize)
	for {
		if s.w.ckpt == nil && s.w.logLen >= s.w.ckptAt {
			prev = s.settle(prev)
			s.beginCheckpoint()
		}
		batch = s.gather(batch[:0])
		if len(batch) == 0 && s.w.ckpt == nil {
			if prev != nil {
				prev = s.settle(prev)
				continue
			}
			select {
			case o := <-s.ops:
				batch = s.gather(append(batch, o))
			case <-s.quit:
				s.drain()
				return
			}
		}
		prev = s.run(batch, prev)
	}
}

// gather adds the ops already waiting to batch, up to MaxBatchSize: the
// longer the last commit took, the more Submits share the next.
func (s *BoltStore) gather(batch []op) []op {
	for len(batch) < s.opt.MaxBatchSize {
		select {
		case o := <-s.ops:
			batch = append(batch, o)
		default:
			return batch
		}
	}
	return batch
}

// drain runs the ops sent before Close, then finishes with a checkpoint so
// the next open has no log to replay.
func (s *BoltStore) drain() {
	var prev *commit
	for {
		batch := s.gather(nil)
		if len(batch) == 0 {
			break
		}
		prev = s.run(batch, prev)
	}
	prev = s.settle(prev)
	if s.w.logLen > 0 {
		s.beginCheckpoint()
	}
	for s.w.ckpt != nil {
		prev = s.run(nil, prev)
	}
	s.settle(prev)
}

// commit is what one transaction writes: submits' log entries and
// possibly a chunk of a checkpoint.
type commit struct {
	pending []pendingSubmit
	overlay map[overlayKey]record // the latest record per player in pending
	lastSeq uint64                // of the newest log entry once written

	chunk   []dirtyNode   // players of the checkpoint this commit writes,
	records []chunkRecord // with their records;
	drop    bool          // or whether it drops log entries up to dropTo
	dropTo  uint64
	dropped int // how many it dropped
}

type chunkRecord struct {
	dirtyNode
	value []byte
}

// run runs ops in order, consecutive submits as one commit, and returns the
// commit it leaves to apply. With no ops, it commits checkpoint work if any.
func (s *BoltStore) run(ops []op, prev *commit) *commit {
	for {
		n := 0
		for n < len(ops) && ops[n].submit != nil {
			n++
		}
		if n == 0 && len(ops) > 0 {
			prev = s.settle(prev)
			s.runAdmin(ops[0].admin)
			ops = ops[1:]
			continue
		}
		c := &s.w.commits[0]
		if c == prev {
			c = &s.w.commits[1]
		}
		s.prepare(c, ops[:n], prev)
		s.checkpointChunk(c)
		if len(c.pending) > 0 || len(c.chunk) > 0 || c.drop {
			written := make(chan error, 1)
			go func() { written <- s.db.Update(c.write) }()
			prev = s.settle(prev)
			err := <-written
			s.checkpointWritten(c, err)
			if err != nil {
				s.fail(c, err)
			} else {
				s.w.lastSeq = c.lastSeq
				prev = c
			}
		}
		if ops = ops[n:]; len(ops) == 0 {
			return prev
		}
	}
}

func (s *BoltStore) runAdmin(req *adminReq) {
	var after func()
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		after, err = req.fn(tx)
		return err
	})
	if err == nil && after != nil {
		after()
	}
	req.done <- err
}

// prepare works out each submit's resulting record from, newest first, the
// submits before it in c, those in prev, and the index.
func (s *BoltStore) prepare(c *commit, ops []op, prev *commit) {
	clear(c.overlay)
	c.pending = c.pending[:0]
	for _, o := range ops {
		req := o.submit
		p := pendingSubmit{req: req}
		b := req.b
		if cur := s.boards[b.info.ID]; cur != b {
			p.err = errReplaced
			if cur == nil {
				p.err = fmt.Errorf("%w: %s", ErrUnknownBoard, b.info.ID)
			}
			c.pending = append(c.pending, p)
			continue
		}
		p.ix = b.seasons[req.season]
		if p.ix == nil {
			p.ix = newIndex()
			b.mu.Lock()
			b.seasons[req.season] = p.ix
			b.mu.Unlock()
		}
		k := overlayKey{p.ix, req.player}
		cur, had := c.overlay[k]
		if !had && prev != nil {
			cur, had = prev.overlay[k]
		}
		if !had {
			if p.node = p.ix.players[req.player]; p.node != nil {
				cur, had = record{key: p.node.key, version: p.node.version}, true
			}
		}
		score, err := b.info.apply(b.info.score(cur.key), had, req.score)
		if err != nil {
			p.err = err
		} else {
			p.rec = record{player: req.player, name: req.name, key: b.info.sortKey(score),
				updated: req.updated, version: cur.version + 1}
			c.overlay[k] = p.rec
		}
		c.pending = append(c.pending, p)
	}
}

// write is c's transaction. It runs in a goroutine of its own while the
// writer applies the commit before, so it touches only c.
func (c *commit) write(tx *bolt.Tx) error {
	log := tx.Bucket(bucketLog)
	for i := range c.pending {
		p := &c.pending[i]
		if p.err != nil {
			continue
		}
		seq, err := log.NextSequence()
		if err != nil {
			return err
		}
		if err := log.Put(binary.BigEndian.AppendUint64(nil, seq), encodeLogEntry(p.req.b, p.req.season, p.rec)); err != nil {
			return err
		}
	}
	c.lastSeq = log.Sequence()
	if err := writeRecords(tx, c.records); err != nil {
		return err
	}
	if c.drop {
		var err error
		c.dropped, err = dropLog(tx, c.dropTo)
		return err
	}
	return nil
}

// settle applies a committed commit to the indexes and answers its
// submits. It returns nil, for prev.
func (s *BoltStore) settle(c *commit) *commit {
	if c == nil {
		return nil
	}
	// One lock per run of submits to the same index; readers get in
	// between runs.
	for i := 0; i < len(c.pending); {
		ix := c.pending[i].ix
		j := i
		for j < len(c.pending) && c.pending[j].ix == ix {
			j++
		}
		if ix != nil {
			ix.mu.Lock()
			for k := i; k < j; k++ {
				if p := &c.pending[k]; p.err == nil {
					p.node = ix.put(p.node, p.rec)
					s.w.logLen++
				}
			}
			ix.mu.Unlock()
		}
		i = j
	}
	for _, p := range c.pending {
		p.req.done <- submitRes{ix: p.ix, node: p.node, rec: p.rec, err: p.err}
	}
	return nil
}

// fail answers the submits of a commit that did not commit.
func (s *BoltStore) fail(c *commit, err error) {
	for _, p := range c.pending {
		if p.err == nil {
			p.err = err
		}
		p.req.done <- submitRes{err: p.err}
	}
}

// beginCheckpoint starts a checkpoint of everything logged so far, which
// the indexes hold: the caller has settled every commit.
func (s *BoltStore) beginCheckpoint() {
	c := &checkpoint{upto: s.w.lastSeq, began: time.Now()}
	for _, b := range s.boards {
		for season, ix := range b.seasons {
			// In player order, a chunk's records share pages.
			slices.SortFunc(ix.dirty, func(x, y *node) int { return cmp.Compare(x.player, y.player) })
			for _, n := range ix.dirty {
				n.dirty = false
				c.todo = append(c.todo, dirtyNode{b, season, ix, n})
			}
			ix.dirty = ix.dirty[:0]
		}
	}
	s.w.ckpt = c
}

// checkpointChunk gives c the next piece of the checkpoint in progress: the
// current records of a chunk of the players logged before it began or,
// once all are written, dropping a chunk of the log up to there.
func (s *BoltStore) checkpointChunk(c *commit) {
	c.chunk, c.records, c.drop, c.dropped = c.chunk[:0], c.records[:0], false, 0
	k := s.w.ckpt
	switch {
	case k == nil:
	case len(k.todo) > 0:
		c.chunk = append(c.chunk, k.todo[:min(chunkSize, len(k.todo))]...)
		k.todo = k.todo[len(c.chunk):]
		for _, d := range c.chunk {
			if s.boards[d.b.info.ID] != d.b {
				continue // deleted since
			}
			r := record{key: d.n.key, version: d.n.version, updated: d.n.updated, name: d.n.name}
			c.records = append(c.records, chunkRecord{d, encodeRecord(r)})
		}
	default:
		c.drop, c.dropTo = true, k.upto
	}
}

// checkpointWritten notes how c's piece of the checkpoint went.
func (s *BoltStore) checkpointWritten(c *commit, err error) {
	k := s.w.ckpt
	if k == nil || len(c.chunk) == 0 && !c.drop {
		return
	}
	if err != nil {
		// The log is intact: try again once as much more is logged.
		s.log.Error().Err(err).Msg("leaderboard checkpoint failed")
		for _, d := range append(c.chunk, k.todo...) {
			d.ix.markDirty(d.n)
		}
		s.w.ckpt = nil
		s.w.ckptAt = s.w.logLen + s.opt.CheckpointEvery
		return
	}
	k.written += len(c.records)
	if c.drop {
		s.w.logLen -= c.dropped
		if c.dropped < dropSize {
			s.w.ckpt = nil
			s.w.ckptAt = s.opt.CheckpointEvery
			s.log.Info().Int("records", k.written).Int("log_entries", s.w.logLen).
				Dur("took", time.Since(k.began)).Msg("leaderboard checkpoint")
		}
	}
}

// writeRecords writes a checkpoint chunk's records, skipping boards
// deleted since, or deleted and created again.
func writeRecords(tx *bolt.Tx, recs []chunkRecord) error {
	boards, data := tx.Bucket(bucketBoards), tx.Bucket(bucketData)
	var sb *bolt.Bucket
	var last dirtyNode
	for i, r := range recs {
		if i == 0 || r.b != last.b || r.season != last.season {
			last, sb = r.dirtyNode, nil
			id := []byte(r.b.info.ID)
			if cfg := boards.Get(id); cfg == nil || binary.BigEndian.Uint64(cfg) != r.b.gen {
				continue
			}
			var err error
			if sb, err = data.Bucket(id).CreateBucketIfNotExists([]byte(r.season)); err != nil {
				return err
			}
		}
		if sb == nil {
			continue
		}
		if err := sb.Put([]byte(r.n.player), r.value); err != nil {
			return err
		}
	}
	return nil
}

// dropLog deletes up to dropSize log entries up to sequence upto.
func dropLog(tx *bolt.Tx, upto uint64) (int, error) {
	log := tx.Bucket(bucketLog)
	var keys [][]byte
	c := log.Cursor()
	for k, _ := c.First(); k != nil && len(keys) < dropSize && binary.BigEndian.Uint64(k) <= upto; k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := log.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
