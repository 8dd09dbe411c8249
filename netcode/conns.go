package netcode

import (
	"net/netip"
	"sync"
)

// connSet is the node's open connections, and how many each client address
// holds (Config.MaxConnsPerIP). Its methods are safe for concurrent use and
// never wait on a socket.
type connSet struct {
	perIP ipLimiter

	// mu guards sessions.
	mu       sync.Mutex
	sessions map[*session]struct{}
}

func newConnSet(maxPerIP int) *connSet {
	return &connSet{
		perIP:    ipLimiter{max: maxPerIP, conns: map[netip.Addr]int{}},
		sessions: map[*session]struct{}{},
	}
}

func (c *connSet) add(s *session) {
	c.mu.Lock()
	c.sessions[s] = struct{}{}
	c.mu.Unlock()
}

// remove forgets s and gives back its address's slot.
func (c *connSet) remove(s *session) {
	c.mu.Lock()
	delete(c.sessions, s)
	c.mu.Unlock()
	if s.ipHeld {
		c.perIP.release(s.ip)
	}
}

func (c *connSet) list() []*session {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*session, 0, len(c.sessions))
	for s := range c.sessions {
		out = append(out, s)
	}
	return out
}

func (c *connSet) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sessions)
}
