package leaderboard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// ErrDamaged is returned by OpenBolt for a file that cannot be used as it
// is: cut short, or with no valid header. The error names the file and what
// to do.
var ErrDamaged = errors.New("leaderboard file is damaged")

// bbolt's on-disk header (go.etcd.io/bbolt, file format version 2): pages 0
// and 1 each hold a meta after a 16-byte page header, in the machine's byte
// order. bbolt maps the file into memory and reads pages as its tree points
// to them, so a file cut short past a page it needs faults the process with
// SIGBUS, in a goroutine of bbolt's own at open. checkBoltFile reads the
// metas with plain reads first and refuses such a file.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	boltPageHeader = 16
	boltMetaSize   = 64 // magic, version, page size, flags, root (16), freelist, pgid, txid, checksum
	boltOffPgid    = 40 // from the start of the meta
	boltOffTxid    = 48
	boltOffSum     = 56
)

// boltMeta is what checkBoltFile needs of a meta page.
type boltMeta struct {
	pageSize uint32
	pgid     uint64 // high-water mark: the file holds pages 0 to pgid-1
	txid     uint64
}

// parseBoltMeta reads the meta of the page that starts at b, or reports
// false if it is not a valid one.
func parseBoltMeta(b []byte) (boltMeta, bool) {
	if len(b) < boltPageHeader+boltMetaSize {
		return boltMeta{}, false
	}
	m := b[boltPageHeader : boltPageHeader+boltMetaSize]
	e := binary.NativeEndian
	h := fnv.New64a()
	h.Write(m[:boltOffSum])
	if e.Uint32(m) != boltMagic || e.Uint32(m[4:]) != boltVersion || e.Uint64(m[boltOffSum:]) != h.Sum64() {
		return boltMeta{}, false
	}
	return boltMeta{pageSize: e.Uint32(m[8:]), pgid: e.Uint64(m[boltOffPgid:]), txid: e.Uint64(m[boltOffTxid:])}, true
}

// checkBoltFile refuses a bbolt file that is shorter than its newest valid
// meta says, or that has data but no valid meta. A missing or empty file
// passes: bbolt creates a new one.
func checkBoltFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size == 0 {
		return nil
	}
	first := make([]byte, boltPageHeader+boltMetaSize)
	n, err := f.ReadAt(first, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	best, ok := parseBoltMeta(first[:n])
	pageSize := int64(best.pageSize)
	if !ok {
		pageSize = int64(os.Getpagesize()) // as bbolt guesses when meta 0 is bad
	}
	second := make([]byte, boltPageHeader+boltMetaSize)
	if n, err := f.ReadAt(second, pageSize); err == nil || errors.Is(err, io.EOF) {
		if m, ok1 := parseBoltMeta(second[:n]); ok1 && (!ok || m.txid > best.txid) {
			best, ok = m, true
		}
	}
	if !ok {
		return damaged(path, fmt.Sprintf("it is %d bytes with no valid bbolt header", size))
	}
	if need := int64(best.pgid) * int64(best.pageSize); size < need {
		return damaged(path, fmt.Sprintf("it is %d bytes, but its last committed transaction needs %d (%d pages of %d bytes): the file was cut short, by a full disk or an interrupted copy or restore", size, need, best.pgid, best.pageSize))
	}
	return nil
}

func damaged(path, why string) error {
	return fmt.Errorf("%w: %s. Nothing was changed. Stop every process using it, then restore it from a backup, or move it aside (to %s.damaged, say) to start with empty leaderboards",
		ErrDamaged, why, path)
}
