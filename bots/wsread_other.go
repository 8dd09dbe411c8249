//go:build !unix

package bots

import (
	"errors"
	"net"
	"syscall"
)

// socketOf returns nil: outside unix a wsReader reads through net.Conn.
func socketOf(net.Conn) syscall.RawConn { return nil }

func (r *wsReader) runRaw() error { return errors.New("bots: no raw socket reads on this system") }
