package directory

import (
	"encoding/base64"
	"strconv"
	"time"
)

// A room's place in List order is its position: CreatedAt in Unix
// nanoseconds as 19 digits, then its id. Positions compare as strings in the
// same order as (CreatedAt, id), because the digits are fixed width. A cursor
// is the position of the last room a page looked at, base64url-encoded, so
// the next page starts after it whatever was inserted meanwhile.

const tsDigits = 19

// position returns the List position of a room created at t, with
// 1970 <= t <= 2262 (prepare checks it).
func position(created time.Time, id string) string {
	b := make([]byte, 0, tsDigits+len(id))
	ts := strconv.AppendInt(nil, created.UnixNano(), 10)
	for range tsDigits - len(ts) {
		b = append(b, '0')
	}
	b = append(b, ts...)
	return string(append(b, id...))
}

func encodeCursor(pos string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pos))
}

// decodeCursor returns the position in the cursor, or ErrBadCursor.
func decodeCursor(cursor string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) <= tsDigits || !validID(string(b[tsDigits:])) {
		return "", ErrBadCursor
	}
	for _, c := range b[:tsDigits] {
		if c < '0' || c > '9' {
			return "", ErrBadCursor
		}
	}
	return string(b), nil
}
