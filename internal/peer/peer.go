// Package peer says which key a client's address counts under, for the
// limits the game socket and the lobby keep per client: the one copy of
// that rule, so the two never disagree on who a client is.
package peer

import "net/netip"

// Key is the address remoteAddr (an http.Request's RemoteAddr, "host:port")
// counts under, or false when it is not limited: it is not an IP address,
// or it is a loopback one and loopback is false. An IPv4-mapped IPv6
// address counts as its IPv4 address, and IPv6 addresses count by /64, the
// block one subscriber usually holds (the key is the block's first
// address).
func Key(remoteAddr string, loopback bool) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	a := ap.Addr().Unmap()
	if a.IsLoopback() && !loopback {
		return netip.Addr{}, false
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		a = p.Addr()
	}
	return a, true
}
