//go:build !unix

package netcode

import (
	"errors"
	"net"
)

// socketFD is -1 where the fast path is not built: every frame goes through
// the writer goroutine.
func socketFD(net.Conn) int { return -1 }

func writeNonBlocking(int, []byte) (int, error) {
	return 0, errors.New("no non-blocking write on this platform")
}
