//go:build unix

package bots

import (
	"os"
	"syscall"
)

// tryWrite writes as much of b as the socket's buffer takes now, by
// system calls inside one RawConn.Write that never waits for the poller;
// w.mu must be held.
//
// Hot path: every frame of every bot.
func (w *wsWriter) tryWrite(b []byte) (int, error) {
	w.wb, w.wn, w.we = b, 0, nil
	err := w.raw.Write(w.wfn)
	n, we := w.wn, w.we
	w.wb, w.we = nil, nil
	if err == nil {
		err = we
	}
	return n, err
}

// writeFd is tryWrite's RawConn.Write function: it reports done whether or
// not the socket took everything, so the runtime never waits.
func (w *wsWriter) writeFd(fd uintptr) bool {
	for w.wn < len(w.wb) {
		n, err := syscall.Write(int(fd), w.wb[w.wn:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return true
		case err != nil:
			w.we = os.NewSyscallError("write", err)
			return true
		case n == 0: // not for a socket; the flusher's wait will tell
			return true
		}
		w.wn += n
	}
	return true
}
