package leaderboard

import (
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
	// log costs disk space (about 80 bytes an entry) and time at open
	// (about 1s per million entries); a shorter one costs more writes, as
	// fewer of a checkpoint's records share a page. Default 250,000.
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

// errReplaced: the board was deleted and created again while a Submit was
// in flight; the Submit looks the board up again.
var errReplaced = errors.New("leaderboard: board replaced")

// OpenBolt opens or creates the store in the bbolt file at path, builds its
// indexes, which takes about a second per million entries, and starts its
// writer. A file cut short (or with no valid header) is refused with an
// error matching ErrDamaged that names it and says what to do, before bbolt
// maps it: bbolt would fault the process on the missing pages.
func OpenBolt(path string, opts BoltOptions) (*BoltStore, error) {
	if opts.MaxBatchSize <= 0 {
		opts.MaxBatchSize = 1000
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = 250_000
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if err := checkBoltFile(path); err != nil {
		return nil, fmt.Errorf("open leaderboard store %s: %w", path, err)
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
		},
	}
	if err := s.load(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open leaderboard store %s: %w", path, err)
	}
	go s.writer()
	return s, nil
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
		if s.boards[id] == nil {
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
	req := submitReqs.Get().(*submitReq)
	defer func() {
		*req = submitReq{done: req.done}
		submitReqs.Put(req)
	}()
	for range 3 {
		b, err := s.board(ctx, board)
		if err != nil {
			return Entry{}, err
		}
		season, err := b.info.seasonAt(at)
		if err != nil {
			return Entry{}, err
		}
		*req = submitReq{b: b, season: season, player: player, name: name, score: score,
			updated: at.UnixNano(), done: req.done}
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
		return b.info.entry(player, name, res.rec.key, res.rec.updated, res.ix.rankOf(res.node, res.rec)), nil
	}
	return Entry{}, fmt.Errorf("%w: %s was replaced repeatedly", ErrUnknownBoard, board)
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
