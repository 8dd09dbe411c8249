//go:build unix

package bots

import (
	"io"
	"net"
	"os"
	"syscall"
)

// socketOf returns the socket under conn for a wsReader to read by system
// calls, or nil if conn is not a plain TCP connection.
func socketOf(conn net.Conn) syscall.RawConn {
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tcp.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// runRaw reads the socket inside one RawConn.Read for the connection's
// whole life, so that the runtime's poller wakes the goroutine when bytes
// come and nothing else stands between the socket and the frames: one read
// takes whatever the socket holds, and a read that did not fill the buffer
// means the socket is empty, so the goroutine waits for the poller at once
// instead of reading again to find nothing. The poller is edge-triggered: a
// byte that arrives after that read is reported, and one that arrived
// during it was read. The buffer goes back to the pool before each wait.
//
// Hot path: every frame of every bot.
func (r *wsReader) runRaw() error {
	var stop error
	err := r.raw.Read(func(fd uintptr) bool {
		for {
			r.acquire()
			room := len(r.buf) - r.n
			n, err := syscall.Read(int(fd), r.buf[r.n:])
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				r.release()
				return false
			case err != nil:
				stop = os.NewSyscallError("read", err)
				return true
			case n == 0:
				stop = io.EOF
				return true
			}
			r.n += n
			if r.count != nil {
				r.count(n)
			}
			if stop = r.parse(); stop != nil {
				return true
			}
			if n < room {
				r.release()
				return false
			}
		}
	})
	if stop != nil {
		return stop
	}
	return err
}
