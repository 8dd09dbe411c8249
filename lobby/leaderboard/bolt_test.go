package leaderboard

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func boltBackend(t *testing.T) func() Store {
	path := filepath.Join(t.TempDir(), "boards.db")
	return func() Store {
		s, err := OpenBolt(path, BoltOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
}

func TestBoltStore(t *testing.T) { testStore(t, boltBackend) }

// TestBoltSubmitIsOnDisk checks that a Submit has reached the file when it
// returns: a copy of the file taken right then, without closing the store,
// holds the score.
func TestBoltSubmitIsOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenBolt(filepath.Join(dir, "live.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateBoard(ctx, Board{ID: "arena", Operator: Increment, Reset: "@daily"}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		want, err := s.Submit(ctx, "arena", "ann", fmt.Sprint("Ann ", i), 10, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "live.db"))
		if err != nil {
			t.Fatal(err)
		}
		cp := filepath.Join(dir, fmt.Sprint("copy", i, ".db"))
		if err := os.WriteFile(cp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := OpenBolt(cp, BoltOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Rank(ctx, "arena", "", "ann")
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		sameEntries(t, []Entry{got}, []Entry{want})
	}
}

// TestBoltIndexMatchesFile races Sets on a few players, so that commits
// reach the index out of order, and checks the index agrees with the file.
func TestBoltIndexMatchesFile(t *testing.T) {
	e := newEnv(t, boltBackend)
	e.create(Board{ID: "set", Operator: Set})
	var wg sync.WaitGroup
	var seed atomic.Uint64
	for range 16 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed.Add(1), 0))
			for range 50 {
				p := fmt.Sprint("p", r.IntN(3))
				if _, err := e.s.Submit(e.ctx, "set", p, "name "+p, r.Int64N(100), testNow); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	before := e.all("set", "", 10)
	e.s.Close()
	e.s = e.reopen()
	sameEntries(t, e.all("set", "", 10), before)
}

// TestBoltCheckpoint runs many checkpoints under concurrent submits and a
// board deletion, and checks nothing is lost or resurrected, whether the
// file is reopened after Close or copied while in use.
func TestBoltCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "boards.db")
	s, err := OpenBolt(path, BoltOptions{CheckpointEvery: 50, MaxBatchSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, b := range []Board{{ID: "inc", Operator: Increment}, {ID: "daily", Operator: Set, Reset: "@daily"}, {ID: "gone"}} {
		if err := s.CreateBoard(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	var sums [40]atomic.Int64
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 5))
			for i := range 60 {
				p := r.IntN(len(sums))
				player := fmt.Sprint("p", p)
				if _, err := s.Submit(ctx, "inc", player, "", int64(w), time.Time{}); err != nil {
					t.Error(err)
					return
				}
				sums[p].Add(int64(w))
				at := testNow.Add(time.Duration(r.IntN(72)) * time.Hour)
				if _, err := s.Submit(ctx, "daily", player, "", int64(i), at); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Submit(ctx, "gone", player, "", 1, at); err != nil && !errors.Is(err, ErrUnknownBoard) {
					t.Error(err)
					return
				}
			}
		})
	}
	time.Sleep(10 * time.Millisecond)
	if err := s.DeleteBoard(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	want := snapshot(t, s)
	for p := range sums {
		e, err := s.Rank(ctx, "inc", "", fmt.Sprint("p", p))
		if sums[p].Load() == 0 {
			continue
		}
		if err != nil || e.Score != sums[p].Load() {
			t.Fatalf("p%d: %+v, %v, want score %d", p, e, err, sums[p].Load())
		}
	}

	// A copy of the file in use: the log is replayed over the checkpoint.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(dir, "copy.db")
	if err := os.WriteFile(cp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := OpenBolt(cp, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameSnapshot(t, snapshot(t, c), want)
	c.Close()

	// Close checkpoints everything: the log is empty.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bucketLog).Stats().KeyN; n != 0 {
			t.Errorf("%d log entries after Close", n)
		}
		return nil
	})
	db.Close()
	if s, err = OpenBolt(path, BoltOptions{}); err != nil {
		t.Fatal(err)
	}
	sameSnapshot(t, snapshot(t, s), want)
}

// snapshot reads every entry of every season of every board.
func snapshot(t *testing.T, s Store) map[string][]Entry {
	t.Helper()
	ctx := context.Background()
	out := map[string][]Entry{}
	boards, err := s.Boards(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range boards {
		seasons, err := s.Seasons(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, season := range seasons {
			entries, next, err := s.Top(ctx, b.ID, season.ID, "", MaxLimit)
			if err != nil || next != "" {
				t.Fatalf("%s/%s: next %q, %v", b.ID, season.ID, next, err)
			}
			out[b.ID+"/"+season.ID] = entries
		}
	}
	return out
}

func sameSnapshot(t *testing.T, got, want map[string][]Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d seasons, want %d", len(got), len(want))
	}
	for k, w := range want {
		sameEntries(t, got[k], w)
	}
}

func TestBoltOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "boards.db")
	s, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenBolt(path, BoltOptions{LockTimeout: 50 * time.Millisecond}); err == nil {
		t.Fatal("a second open of a file in use succeeded")
	}
	s.Close()

	// A file of another format is refused, not rewritten.
	other := filepath.Join(dir, "other.db")
	db, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(formatKey, []byte("2"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenBolt(other, BoltOptions{}); err == nil {
		t.Fatal("opened a file of format 2")
	}
	if _, err := OpenBolt(filepath.Join(dir, "missing", "x.db"), BoltOptions{}); err == nil {
		t.Fatal("opened a file in a missing directory")
	}
}

// writeBoltFile fills a store file at path with n players' scores and closes it.
func writeBoltFile(t testing.TB, path string, n int) {
	t.Helper()
	ctx := context.Background()
	s, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateBoard(ctx, Board{ID: "b"}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := s.Submit(ctx, "b", fmt.Sprint("player-", i), "a name", int64(i), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBoltOpenTruncated cuts a real store file short at several lengths:
// each open is refused with ErrDamaged naming the file and what to do, and
// leaves the file as it was, where bbolt alone faulted the process (SIGBUS).
func TestBoltOpenTruncated(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.db")
	writeBoltFile(t, full, 3000)
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(data))
	// bbolt grows a file ahead of use: the pages in use end at the newest
	// meta's high-water mark, here before the end of the file.
	m0, _ := parseBoltMeta(data)
	page := int64(m0.pageSize)
	m1, _ := parseBoltMeta(data[page:])
	used := int64(max(m0.pgid, m1.pgid)) * page
	if used <= 3*page || used > size {
		t.Fatalf("pages in use end at %d of %d bytes", used, size)
	}
	for _, n := range []int64{size / 2, size/2 + 100, 3 * page, page + 100, 100, used - page, used - 1} {
		t.Run(fmt.Sprint(n, "_bytes"), func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("cut%d.db", n))
			if err := os.WriteFile(path, data[:n], 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := OpenBolt(path, BoltOptions{})
			if err == nil {
				s.Close()
				t.Fatalf("a file cut to %d of %d bytes opened", n, size)
			}
			msg := err.Error()
			if !errors.Is(err, ErrDamaged) || !strings.Contains(msg, path) || !strings.Contains(msg, "backup") || !strings.Contains(msg, "move it aside") {
				t.Fatalf("open of a file cut to %d bytes: %v; want ErrDamaged naming the file and what to do", n, err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Size() != n {
				t.Fatalf("the refused file changed: %v, %v", fi.Size(), err)
			}
		})
	}
	// The whole file, one cut past its pages in use, and a new one, still open.
	if err := os.WriteFile(full+".used", data[:used], 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := OpenBolt(full+".used", BoltOptions{}); err != nil {
		t.Fatalf("a file cut after its pages in use: %v", err)
	} else {
		s.Close()
	}
	s, err := OpenBolt(full, BoltOptions{})
	if err != nil {
		t.Fatalf("the file before cutting: %v", err)
	}
	if e, err := s.Rank(context.Background(), "b", AllSeason, "player-2999"); err != nil || e.Score != 2999 {
		t.Fatalf("a score of the whole file: %+v, %v", e, err)
	}
	s.Close()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := OpenBolt(empty, BoltOptions{}); err != nil {
		t.Fatalf("an empty file, which bbolt initialises: %v", err)
	} else {
		s.Close()
	}
}

// benchEntries is how many entries the benchmarks' board holds.
const benchEntries = 1_000_000

func benchPlayer(i int) string { return fmt.Sprintf("player-%07d", i) }

// benchBolt returns a store whose Descending Best board "bench" holds n
// entries, written in one transaction and indexed by reopening the file.
func benchBolt(b *testing.B, n int) *BoltStore {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.db")
	s, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	board := Board{ID: "bench"}
	if err := s.CreateBoard(ctx, board); err != nil {
		b.Fatal(err)
	}
	info, _ := newBoardInfo(board, time.Now())
	r := rand.New(rand.NewPCG(1, 1))
	updated := time.Now().UnixNano()
	err = s.db.Update(func(tx *bolt.Tx) error {
		sb, err := tx.Bucket(bucketData).Bucket([]byte(board.ID)).CreateBucket([]byte(AllSeason))
		if err != nil {
			return err
		}
		for i := range n {
			p := benchPlayer(i)
			rec := record{player: p, name: "name " + p, key: info.sortKey(r.Int64N(1_000_000)), updated: updated, version: 1}
			if err := sb.Put([]byte(p), encodeRecord(rec)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	began := time.Now()
	if s, err = OpenBolt(path, BoltOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Logf("indexed %d entries at open in %v", n, time.Since(began).Round(time.Millisecond))
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkBoltSubmit submits from many goroutines, so that commits are
// shared as they are under load, to random players of a 1M-entry board
// (one in eleven new).
func BenchmarkBoltSubmit(b *testing.B) {
	s := benchBolt(b, benchEntries)
	b.Run("entries=1M", func(b *testing.B) {
		ctx := context.Background()
		var seed atomic.Uint64
		b.ReportAllocs()
		b.SetParallelism(512) // enough waiting Submits to fill commits
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(seed.Add(1), 2))
			for pb.Next() {
				p := benchPlayer(r.IntN(benchEntries * 11 / 10))
				if _, err := s.Submit(ctx, "bench", p, "name", r.Int64N(1_000_000), time.Time{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submits/s")
	})
}

// BenchmarkBoltRank looks up random players of a 1M-entry board.
func BenchmarkBoltRank(b *testing.B) {
	s := benchBolt(b, benchEntries)
	b.Run("entries=1M", func(b *testing.B) {
		ctx := context.Background()
		var seed atomic.Uint64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(seed.Add(1), 3))
			for pb.Next() {
				if _, err := s.Rank(ctx, "bench", "", benchPlayer(r.IntN(benchEntries))); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ranks/s")
	})
}
