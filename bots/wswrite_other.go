//go:build !unix

package bots

import "errors"

// tryWrite is never called outside unix: socketOf gives no raw socket, so
// a wsWriter writes through net.Conn.
func (w *wsWriter) tryWrite([]byte) (int, error) {
	return 0, errors.New("bots: no raw socket writes on this system")
}

func (w *wsWriter) writeFd(uintptr) bool { return true }
