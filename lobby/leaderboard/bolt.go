package leaderboard

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
)

// BoltOptions configures OpenBolt. The zero value is ready to use.
type BoltOptions struct {
	// MaxBatchSize caps how many Submits share one commit. Default 1000.
	MaxBatchSize int
	// CheckpointEvery is how many logged Submits start a checkpoint, which
	// folds the log into the per-player records and empties it. A longer
	// log costs disk space and time at open (about 1s per million
	// entries); a shorter one costs more writes. Default 100,000.
	CheckpointEvery int
	// LockTimeout is how long OpenBolt waits for another process holding
	// the file to let go. Default 1s.
	LockTimeout time.Duration
	// Logger receives an event per open and per checkpoint. Default: none.
	Logger zerolog.Logger
}

var _ Store = (*BoltStore)(nil)

// BoltStore is the embedded Store: a bbolt file, which holds the truth,
// and an in-memory order-statistic index per board season, rebuilt from the
// file at open, which answers every read.
//
// Writes go through one goroutine, the writer. It commits all the Submits
// waiting for it in one transaction (group commit) and syncs it before any
// of them returns, so a crash, even kill -9, loses no score a caller was
// told about; while one commit is written and synced, it applies the one
// before to the indexes. A commit appends each Submit's resulting record to
// a log under sequential keys, so it writes a few pages however big the
// boards are, where updating per-player records in place would dirty a page
// per Submit. Every CheckpointEvery log entries the writer folds the log into
// the per-player records, in sorted chunks carried by the next commits, and
// then drops it. Once the writer has a Submit, the Submit waits for its
// outcome whatever its context says.
//
// Only one process may open a file at a time; OpenBolt waits LockTimeout
// for it.
type BoltStore struct {
	db  *bolt.DB
	log zerolog.Logger
	now func() time.Time
	opt BoltOptions

	// mu guards boards for readers. Only the writer changes boards, under
	// mu, so it reads boards without it.
	mu     sync.RWMutex
	boards map[string]*boltBoard

	// closeMu makes Close wait for callers handing ops to the writer, so
	// none is left blocked on ops after the writer exits.
	closeMu sync.RWMutex
	closed  atomic.Bool
	ops     chan op       // to the writer
	quit    chan struct{} // closed by Close
	done    chan struct{} // closed by the writer as it exits

	w writerState // owned by the writer goroutine
}

// boltBoard is one board of a BoltStore.
type boltBoard struct {
	info *boardInfo
	gen  uint64 // the board's generation: a board re-created with the same id has a new one

	// mu guards seasons for readers; only the writer adds to seasons.
	// Each index has its own lock.
	mu      sync.RWMutex
	seasons map[string]*index
}

// op is a request to the writer: a submit or a change of boards.
type op struct {
	submit *submitReq
	admin  *adminReq
}

type submitReq struct {
	b                    *boltBoard
	season, player, name string
	score, updated       int64
	done                 chan submitRes // buffered; the writer sends once
}

// submitRes is a submit's outcome: the record now in ix.
type submitRes struct {
	ix  *index
	rec record
	err error
}

// adminReq runs fn in a transaction of its own; after, if fn returns one,
// runs once it commits.
type adminReq struct {
	fn   func(tx *bolt.Tx) (after func(), err error)
	done chan error
}

// writerState is the writer goroutine's own.
type writerState struct {
	commits [2]commit             // one being committed, one being applied
	logLen  int                   // entries in the log
	ckptAt  int                   // logLen at which to begin a checkpoint
	lastSeq uint64                // of the newest log entry
	dirty   map[dirtyKey]struct{} // players logged since the checkpoint in progress, or the last, began
	ckpt    *checkpoint           // in progress, or nil
}

type overlayKey struct {
	ix     *index
	player string
}

type pendingSubmit struct {
	req *submitReq
	ix  *index
	rec record
	err error
}

type dirtyKey struct {
	b              *boltBoard
	season, player string
}

// checkpoint is a pass folding the log, up to entry upto, into the
// per-player records: first todo, a chunk per transaction, then dropping
// the log entries.
type checkpoint struct {
	upto    uint64
	todo    []dirtyKey // sorted by board, season, player
	began   time.Time
	written int
}

// The file holds:
//
//	meta/format                          "1"
//	boards/<board id>                    generation | JSON configuration
//	data/<board id>/<season id>/<player> record, as of the last checkpoint
//	log/<sequence>                       log entry: a record written since
//
// Numbers are 8 bytes big-endian. A record is key (int64) | version (uint64)
// | updated (Unix ns, int64) | name; key is the board's sortKey of the score
// and version counts the player's writes in the season. A log entry is the
// board's generation | uvarint-prefixed board id, season id and player |
// record. At open the records are loaded, then the log is replayed over them
// in order, skipping entries of boards since deleted.
var (
	bucketMeta   = []byte("meta")
	bucketBoards = []byte("boards")
	bucketData   = []byte("data")
	bucketLog    = []byte("log")
	formatKey    = []byte("format")
	formatV1     = []byte("1")
)

const recordHeader = 24

// Sizes of a checkpoint's transactions.
const (
	chunkSize = 2048  // records written per commit
	dropSize  = 20000 // log entries dropped per commit
)

// errReplaced: the board was deleted and created again while a Submit was
// in flight; the Submit looks the board up again.
var errReplaced = errors.New("leaderboard: board replaced")

// OpenBolt opens or creates the store in the bbolt file at path, builds its
// indexes, which takes about a second per million entries, and starts its
// writer.
func OpenBolt(path string, opts BoltOptions) (*BoltStore, error) {
	if opts.MaxBatchSize <= 0 {
		opts.MaxBatchSize = 1000
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = 100_000
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: opts.LockTimeout,
		// The free list is rebuilt at open instead of written per commit;
		// durability is unchanged.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("open leaderboard store %s: %w", path, err)
	}
	s := &BoltStore{
		db: db, log: opts.Logger, now: time.Now, opt: opts,
		boards: make(map[string]*boltBoard),
		ops:    make(chan op, 4*opts.MaxBatchSize),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		w: writerState{
			ckptAt:  opts.CheckpointEvery,
			commits: [2]commit{{overlay: make(map[overlayKey]record)}, {overlay: make(map[overlayKey]record)}},
			dirty:   make(map[dirtyKey]struct{}),
		},
	}
	if err := s.load(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open leaderboard store %s: %w", path, err)
	}
	go s.writer()
	return s, nil
}

// load prepares a new file or reads an existing one into the indexes.
func (s *BoltStore) load() error {
	began := time.Now()
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		switch f := meta.Get(formatKey); {
		case f == nil:
			if err := meta.Put(formatKey, formatV1); err != nil {
				return err
			}
		case !bytes.Equal(f, formatV1):
			return fmt.Errorf("file format %q, want %q", f, formatV1)
		}
		for _, name := range [][]byte{bucketBoards, bucketData, bucketLog} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var entries int
	err = s.db.View(func(tx *bolt.Tx) error {
		data := tx.Bucket(bucketData)
		err := tx.Bucket(bucketBoards).ForEach(func(id, cfg []byte) error {
			b, n, err := loadBoard(string(id), cfg, data.Bucket(id), s.now())
			if err != nil {
				return err
			}
			s.boards[b.info.ID] = b
			entries += n
			return nil
		})
		if err != nil {
			return err
		}
		return s.replay(tx.Bucket(bucketLog))
	})
	if err != nil {
		return err
	}
	s.log.Info().Str("file", s.db.Path()).Int("boards", len(s.boards)).Int("entries", entries).
		Int("log_entries", s.w.logLen).Dur("took", time.Since(began)).Msg("leaderboards loaded")
	return nil
}

func loadBoard(id string, cfg []byte, data *bolt.Bucket, now time.Time) (*boltBoard, int, error) {
	if len(cfg) < 8 || data == nil {
		return nil, 0, fmt.Errorf("board %s: corrupt entry", id)
	}
	info, err := parseBoard(id, cfg[8:], now)
	if err != nil {
		return nil, 0, err
	}
	b := &boltBoard{info: info, gen: binary.BigEndian.Uint64(cfg), seasons: make(map[string]*index)}
	var entries int
	err = data.ForEachBucket(func(season []byte) error {
		var recs []record
		err := data.Bucket(season).ForEach(func(k, v []byte) error {
			r, err := decodeRecord(k, v)
			recs = append(recs, r)
			return err
		})
		if err != nil {
			return fmt.Errorf("board %s season %s: %w", id, season, err)
		}
		b.seasons[string(season)] = buildIndex(recs)
		entries += len(recs)
		return nil
	})
	return b, entries, err
}

// replay applies the log over the loaded records.
func (s *BoltStore) replay(log *bolt.Bucket) error {
	s.w.lastSeq = log.Sequence()
	return log.ForEach(func(k, v []byte) error {
		s.w.logLen++
		gen, board, season, rec, err := decodeLogEntry(v)
		if err != nil {
			return fmt.Errorf("log entry %x: %w", k, err)
		}
		b := s.boards[board]
		if b == nil || b.gen != gen {
			return nil // the board was deleted since
		}
		ix := b.seasons[season]
		if ix == nil {
			ix = newIndex()
			b.seasons[season] = ix
		}
		ix.put(rec)
		s.w.dirty[dirtyKey{b, season, rec.player}] = struct{}{}
		return nil
	})
}

func encodeRecord(r record) []byte {
	return appendRecord(make([]byte, 0, recordHeader+len(r.name)), r)
}

func appendRecord(v []byte, r record) []byte {
	v = binary.BigEndian.AppendUint64(v, uint64(r.key))
	v = binary.BigEndian.AppendUint64(v, r.version)
	v = binary.BigEndian.AppendUint64(v, uint64(r.updated))
	return append(v, r.name...)
}

func decodeRecord(player, v []byte) (record, error) {
	if len(v) < recordHeader {
		return record{}, fmt.Errorf("player %q: corrupt record", player)
	}
	return record{
		player:  string(player),
		key:     int64(binary.BigEndian.Uint64(v[0:])),
		version: binary.BigEndian.Uint64(v[8:]),
		updated: int64(binary.BigEndian.Uint64(v[16:])),
		name:    string(v[recordHeader:]),
	}, nil
}

func encodeLogEntry(b *boltBoard, season string, r record) []byte {
	v := make([]byte, 0, 8+3*binary.MaxVarintLen16+len(b.info.ID)+len(season)+len(r.player)+recordHeader+len(r.name))
	v = binary.BigEndian.AppendUint64(v, b.gen)
	for _, s := range []string{b.info.ID, season, r.player} {
		v = binary.AppendUvarint(v, uint64(len(s)))
		v = append(v, s...)
	}
	return appendRecord(v, r)
}

func decodeLogEntry(v []byte) (gen uint64, board, season string, r record, err error) {
	bad := errors.New("corrupt log entry")
	if len(v) < 8 {
		return 0, "", "", record{}, bad
	}
	gen, v = binary.BigEndian.Uint64(v), v[8:]
	var fields [3][]byte
	for i := range fields {
		n, k := binary.Uvarint(v)
		if k <= 0 || n > uint64(len(v)-k) {
			return 0, "", "", record{}, bad
		}
		fields[i], v = v[k:k+int(n)], v[k+int(n):]
	}
	r, err = decodeRecord(fields[2], v)
	return gen, string(fields[0]), string(fields[1]), r, err
}

// board returns an open store's board.
func (s *BoltStore) board(ctx context.Context, id string) (*boltBoard, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkBoardID(id); err != nil {
		return nil, err
	}
	s.mu.RLock()
	b := s.boards[id]
	s.mu.RUnlock()
	if b == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownBoard, id)
	}
	return b, nil
}

// index returns a season's index, or nil.
func (b *boltBoard) index(season string) *index {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.seasons[season]
}

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

// CreateBoard implements Store.
func (s *BoltStore) CreateBoard(ctx context.Context, b Board) error {
	if err := s.createBoard(ctx, b); err != nil {
		return fmt.Errorf("create board %s: %w", b.ID, err)
	}
	return nil
}

func (s *BoltStore) createBoard(ctx context.Context, b Board) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	info, err := newBoardInfo(b, s.now())
	if err != nil {
		return err
	}
	return s.admin(ctx, func(tx *bolt.Tx) (func(), error) {
		if cur := s.boards[b.ID]; cur != nil {
			if cur.info.Board != b {
				return nil, fmt.Errorf("%w: have %+v", ErrBoardExists, cur.info.Board)
			}
			return nil, nil
		}
		boards := tx.Bucket(bucketBoards)
		gen, err := boards.NextSequence()
		if err != nil {
			return nil, err
		}
		v := binary.BigEndian.AppendUint64(nil, gen)
		if err := boards.Put([]byte(b.ID), append(v, info.config()...)); err != nil {
			return nil, err
		}
		if _, err := tx.Bucket(bucketData).CreateBucket([]byte(b.ID)); err != nil {
			return nil, err
		}
		return func() {
			s.mu.Lock()
			s.boards[b.ID] = &boltBoard{info: info, gen: gen, seasons: make(map[string]*index)}
			s.mu.Unlock()
		}, nil
	})
}

// Board implements Store.
func (s *BoltStore) Board(ctx context.Context, id string) (Board, error) {
	b, err := s.board(ctx, id)
	if err != nil {
		return Board{}, fmt.Errorf("board %s: %w", id, err)
	}
	return b.info.Board, nil
}

// Boards implements Store.
func (s *BoltStore) Boards(ctx context.Context) ([]Board, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	out := make([]Board, 0, len(s.boards))
	for _, b := range s.boards {
		out = append(out, b.info.Board)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Board) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// DeleteBoard implements Store.
func (s *BoltStore) DeleteBoard(ctx context.Context, id string) error {
	if _, err := s.board(ctx, id); err != nil {
		return fmt.Errorf("delete board %s: %w", id, err)
	}
	err := s.admin(ctx, func(tx *bolt.Tx) (func(), error) {
		b := s.boards[id]
		if b == nil {
			return nil, fmt.Errorf("%w: %s", ErrUnknownBoard, id)
		}
		if err := tx.Bucket(bucketBoards).Delete([]byte(id)); err != nil {
			return nil, err
		}
		if err := tx.Bucket(bucketData).DeleteBucket([]byte(id)); err != nil {
			return nil, err
		}
		// The board's log entries stay until a checkpoint drops them;
		// replay skips them.
		return func() {
			s.mu.Lock()
			delete(s.boards, id)
			s.mu.Unlock()
			for k := range s.w.dirty {
				if k.b == b {
					delete(s.w.dirty, k)
				}
			}
		}, nil
	})
	if err != nil {
		return fmt.Errorf("delete board %s: %w", id, err)
	}
	return nil
}

// Submit implements Store. It is the write hot path (BenchmarkBoltSubmit):
// validation here, then the writer's share of a commit and an O(log n) index
// update.
func (s *BoltStore) Submit(ctx context.Context, board, player, name string, score int64, at time.Time) (Entry, error) {
	e, err := s.submit(ctx, board, player, name, score, at)
	if err != nil {
		return Entry{}, fmt.Errorf("submit to board %s: %w", board, err)
	}
	return e, nil
}

func (s *BoltStore) submit(ctx context.Context, board, player, name string, score int64, at time.Time) (Entry, error) {
	if err := checkSubmit(player, name, score); err != nil {
		return Entry{}, err
	}
	at, err := submitTime(at, s.now)
	if err != nil {
		return Entry{}, err
	}
	for range 3 {
		b, err := s.board(ctx, board)
		if err != nil {
			return Entry{}, err
		}
		season, err := b.info.seasonAt(at)
		if err != nil {
			return Entry{}, err
		}
		req := &submitReq{b: b, season: season, player: player, name: name, score: score,
			updated: at.UnixNano(), done: make(chan submitRes, 1)}
		if err := s.send(ctx, op{submit: req}); err != nil {
			return Entry{}, err
		}
		res := <-req.done
		if errors.Is(res.err, errReplaced) {
			continue
		}
		if res.err != nil {
			return Entry{}, res.err
		}
		// The rank is worked out here rather than in the writer, which
		// every Submit waits for.
		return b.info.entry(player, name, res.rec.key, res.rec.updated, res.ix.rankOf(res.rec)), nil
	}
	return Entry{}, fmt.Errorf("%w: %s was replaced repeatedly", ErrUnknownBoard, board)
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

	chunk   []dirtyKey    // players of the checkpoint this commit writes,
	records []chunkRecord // with their records;
	drop    bool          // or whether it drops log entries up to dropTo
	dropTo  uint64
	dropped int // how many it dropped
}

type chunkRecord struct {
	dirtyKey
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
			if n := p.ix.players[req.player]; n != nil {
				cur, had = record{key: n.key, version: n.version}, true
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
			for _, p := range c.pending[i:j] {
				if p.err == nil {
					ix.put(p.rec)
					s.w.logLen++
					s.w.dirty[dirtyKey{p.req.b, p.req.season, p.rec.player}] = struct{}{}
				}
			}
			ix.mu.Unlock()
		}
		i = j
	}
	for _, p := range c.pending {
		p.req.done <- submitRes{ix: p.ix, rec: p.rec, err: p.err}
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
	c := &checkpoint{upto: s.w.lastSeq, began: time.Now(), todo: make([]dirtyKey, 0, len(s.w.dirty))}
	for k := range s.w.dirty {
		c.todo = append(c.todo, k)
	}
	clear(s.w.dirty)
	// In key order, a chunk's records share pages.
	slices.SortFunc(c.todo, func(a, b dirtyKey) int {
		return cmp.Or(cmp.Compare(a.b.info.ID, b.b.info.ID), cmp.Compare(a.season, b.season), cmp.Compare(a.player, b.player))
	})
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
			n := d.b.seasons[d.season].players[d.player]
			r := record{key: n.key, version: n.version, updated: n.extra.updated, name: n.extra.name}
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
			s.w.dirty[d] = struct{}{}
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
	var last dirtyKey
	for i, r := range recs {
		if i == 0 || r.b != last.b || r.season != last.season {
			last, sb = r.dirtyKey, nil
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
		if err := sb.Put([]byte(r.player), r.value); err != nil {
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

// Top implements Store.
func (s *BoltStore) Top(ctx context.Context, board, season, cursor string, limit int) ([]Entry, string, error) {
	entries, next, err := s.top(ctx, board, season, cursor, limit)
	if err != nil {
		return nil, "", fmt.Errorf("top of board %s: %w", board, err)
	}
	return entries, next, nil
}

func (s *BoltStore) top(ctx context.Context, board, season, cursor string, limit int) ([]Entry, string, error) {
	b, err := s.board(ctx, board)
	if err != nil {
		return nil, "", err
	}
	if err := checkLimit(limit); err != nil {
		return nil, "", err
	}
	season, off, err := pageSeason(b.info, season, cursor)
	if err != nil {
		return nil, "", err
	}
	if season, err = b.info.resolveSeason(season, s.now()); err != nil {
		return nil, "", err
	}
	ix := b.index(season)
	if ix == nil {
		return nil, "", nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var entries []Entry
	ix.walk(off, func(n *node) bool {
		entries = append(entries, n.entry(b.info, off+int64(len(entries))+1))
		return len(entries) < limit
	})
	return entries, nextCursor(b.info, season, off, len(entries), ix.count()), nil
}

// Rank implements Store. It is the read hot path: an O(log n) walk of the
// season's index under a read lock (BenchmarkBoltRank).
func (s *BoltStore) Rank(ctx context.Context, board, season, player string) (Entry, error) {
	entries, err := s.around(ctx, board, season, player, 0)
	if err != nil {
		return Entry{}, fmt.Errorf("rank on board %s: %w", board, err)
	}
	return entries[0], nil
}

// Around implements Store.
func (s *BoltStore) Around(ctx context.Context, board, season, player string, n int) ([]Entry, error) {
	entries, err := s.around(ctx, board, season, player, n)
	if err != nil {
		return nil, fmt.Errorf("around on board %s: %w", board, err)
	}
	return entries, nil
}

func (s *BoltStore) around(ctx context.Context, board, season, player string, n int) ([]Entry, error) {
	b, err := s.board(ctx, board)
	if err != nil {
		return nil, err
	}
	if err := checkPlayer(player); err != nil {
		return nil, err
	}
	if err := checkAround(n); err != nil {
		return nil, err
	}
	if season, err = b.info.resolveSeason(season, s.now()); err != nil {
		return nil, err
	}
	ix := b.index(season)
	if ix == nil {
		return nil, notRanked(player, season)
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	p, ok := ix.players[player]
	if !ok {
		return nil, notRanked(player, season)
	}
	r := ix.before(p.key, p.player)
	from := max(0, r-int64(n))
	want := int(r-from) + n + 1
	entries := make([]Entry, 0, want)
	ix.walk(from, func(nd *node) bool {
		entries = append(entries, nd.entry(b.info, from+int64(len(entries))+1))
		return len(entries) < want
	})
	return entries, nil
}

// Seasons implements Store.
func (s *BoltStore) Seasons(ctx context.Context, board string) ([]Season, error) {
	b, err := s.board(ctx, board)
	if err != nil {
		return nil, fmt.Errorf("seasons of board %s: %w", board, err)
	}
	var ids []string
	b.mu.RLock()
	for id, ix := range b.seasons {
		ix.mu.RLock()
		if ix.count() > 0 {
			ids = append(ids, id)
		}
		ix.mu.RUnlock()
	}
	b.mu.RUnlock()
	out, err := b.info.seasons(ids, s.now())
	if err != nil {
		return nil, fmt.Errorf("seasons of board %s: %w", board, err)
	}
	return out, nil
}

// Close waits for the writes already handed to the writer, checkpoints the
// log and closes the file. Calls after Close fail with ErrClosed.
func (s *BoltStore) Close() error {
	s.closeMu.Lock()
	if s.closed.Swap(true) {
		s.closeMu.Unlock()
		return nil
	}
	close(s.quit)
	s.closeMu.Unlock()
	<-s.done
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close leaderboard store: %w", err)
	}
	return nil
}
