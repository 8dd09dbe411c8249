//go:build unix

package netcode

import (
	"net"
	"syscall"
)

// socketFD is conn's descriptor, or -1 if it has none (a pipe in a test, a
// TLS conn).
func socketFD(conn net.Conn) int {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return -1
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	if err := raw.Control(func(d uintptr) { fd = int(d) }); err != nil {
		return -1
	}
	return fd
}

// writeNonBlocking writes as much of b to the socket fd as it takes without
// waiting: Go's sockets are non-blocking, so a full buffer is EAGAIN, and
// the count written so far with no error. Hot path: once per client per tick.
func writeNonBlocking(fd int, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := syscall.Write(fd, b[n:])
		if m > 0 {
			n += m
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return n, nil
		case err != nil:
			return n, err
		case m <= 0:
			return n, nil
		}
	}
	return n, nil
}
