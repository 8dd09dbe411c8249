package leaderboard

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// A cursor is the URL-safe base64 of
//
//	version byte | offset uvarint | season id | crc32c of board id, 0, and all before
//
// offset is the 0-based rank the next page starts at. The checksum is not
// a secret: it catches a cursor that was mangled, truncated or taken from
// another board, so such a cursor fails with ErrBadCursor instead of paging
// somewhere arbitrary. Naming the season keeps a paging session in the
// season it started in when the board rolls over meanwhile.
const cursorVersion = 1

// maxOffset bounds a cursor's offset; no board holds more entries.
const maxOffset = 1 << 40

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func encodeCursor(board, season string, offset int64) string {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(season)+4)
	b = append(b, cursorVersion)
	b = binary.AppendUvarint(b, uint64(offset))
	b = append(b, season...)
	b = binary.BigEndian.AppendUint32(b, cursorSum(board, b))
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the season and offset a cursor of board names.
func decodeCursor(board, cursor string) (season string, offset int64, err error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) < 1+1+4 || b[0] != cursorVersion {
		return "", 0, fmt.Errorf("%w: board %s: malformed cursor", ErrBadCursor, board)
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if cursorSum(board, body) != sum {
		return "", 0, fmt.Errorf("%w: board %s: cursor checksum mismatch", ErrBadCursor, board)
	}
	off, n := binary.Uvarint(body[1:])
	if n <= 0 || off > maxOffset {
		return "", 0, fmt.Errorf("%w: board %s: cursor offset", ErrBadCursor, board)
	}
	return string(body[1+n:]), int64(off), nil
}

func cursorSum(board string, body []byte) uint32 {
	h := crc32.New(castagnoli)
	h.Write([]byte(board))
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum32()
}

// pageSeason settles which season and offset a Top call reads: a cursor
// carries its season, which must agree with season if that is not "".
func pageSeason(bi *boardInfo, season, cursor string) (string, int64, error) {
	if cursor == "" {
		return season, 0, nil
	}
	cs, off, err := decodeCursor(bi.ID, cursor)
	if err != nil {
		return "", 0, err
	}
	if season != "" && season != cs {
		return "", 0, fmt.Errorf("%w: board %s: cursor is for season %q, not %q", ErrBadCursor, bi.ID, cs, season)
	}
	if _, err := bi.season(cs, ""); err != nil {
		return "", 0, fmt.Errorf("%w: board %s: cursor names a bad season", ErrBadCursor, bi.ID)
	}
	return cs, off, nil
}

// nextCursor returns the cursor for the page after entries, or "" if that
// page would be empty.
func nextCursor(bi *boardInfo, season string, offset int64, got int, total int64) string {
	end := offset + int64(got)
	if got == 0 || end >= total {
		return ""
	}
	return encodeCursor(bi.ID, season, end)
}
