package leaderboard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

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
		ix.put(nil, rec)
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
