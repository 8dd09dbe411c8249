package netcode

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// originPolicy is Config.AllowedOrigins, parsed.
type originPolicy struct {
	any      bool
	null     bool // "null" is allowed: sandboxed frames and file:// pages send it
	patterns []originPattern
}

// originPattern is one allowed origin. Origins are compared parsed, never
// as strings: the scheme, the host label by label, and the port.
type originPattern struct {
	scheme string   // "" for any
	labels []string // the host's labels, lower case; for a wildcard those after "*."
	wild   bool     // any host with more labels ending in labels (a subdomain)
	ip     netip.Addr
	port   string // "" for the scheme's default
}

// origin is an Origin header (RFC 6454: scheme "://" host [":" port]), parsed.
type origin struct {
	scheme string
	labels []string // a DNS host's labels, lower case
	ip     netip.Addr
	port   string // "" for the scheme's default
}

// parseOrigin parses an Origin header value. Anything but a bare origin is
// refused: a path, query, fragment, user info, white space, a second origin,
// an empty or malformed label, a port out of range.
func parseOrigin(s string) (origin, bool) {
	s = strings.ToLower(s)
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !validScheme(scheme) {
		return origin{}, false
	}
	o := origin{scheme: scheme}
	host, port, ok := splitHostPort(rest)
	if !ok {
		return origin{}, false
	}
	o.port = normalPort(scheme, port)
	if o.ip, ok = parseIPHost(host); ok {
		return o, true
	}
	if o.labels, ok = hostLabels(host); !ok {
		return origin{}, false
	}
	return o, true
}

func validScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789+-.") == ""
}

// splitHostPort splits host[:port], host being a name, an IPv4 address or a
// bracketed IPv6 one; a port is 1 to 65535 in digits.
func splitHostPort(s string) (host, port string, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", false
		}
		host, s = s[:end+1], s[end+1:]
		if s == "" {
			return host, "", true
		}
		if s[0] != ':' {
			return "", "", false
		}
		port = s[1:]
	} else {
		var hasPort bool
		host, port, hasPort = strings.Cut(s, ":")
		if !hasPort {
			return host, "", host != ""
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.Trim(port, "0123456789") != "" {
		return "", "", false
	}
	return host, port, host != ""
}

// normalPort is port, or "" when it is the scheme's default (a browser
// leaves a default port out of an origin).
func normalPort(scheme, port string) string {
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		return ""
	}
	return port
}

func parseIPHost(h string) (netip.Addr, bool) {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		a, err := netip.ParseAddr(h[1 : len(h)-1])
		return a, err == nil && a.Is6() && a.Zone() == ""
	}
	a, err := netip.ParseAddr(h)
	return a, err == nil && a.Is4()
}

// hostLabels splits a DNS host name into its labels: 1 to 63 letters,
// digits and hyphens each, not starting or ending with a hyphen. Non-ASCII
// names arrive in their xn-- form.
func hostLabels(h string) ([]string, bool) {
	if h == "" || len(h) > 253 {
		return nil, false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' ||
			strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return nil, false
		}
	}
	return labels, true
}

// parseOrigins checks and parses Config.AllowedOrigins.
func parseOrigins(list []string) (originPolicy, error) {
	var p originPolicy
	if len(list) == 0 {
		p.any = true
		return p, nil
	}
	for _, raw := range list {
		o := strings.ToLower(strings.TrimSpace(raw))
		switch o {
		case "*":
			p.any = true
			continue
		case "null":
			p.null = true
			continue
		}
		pat, ok := parsePattern(o)
		if !ok {
			return p, fmt.Errorf("allowed origin %q: want scheme://host[:port], host[:port], *.domain, null or *, with an http or https scheme", raw)
		}
		p.patterns = append(p.patterns, pat)
	}
	return p, nil
}

// parsePattern parses one allowed origin: [scheme://][*.]host[:port].
func parsePattern(s string) (originPattern, bool) {
	var pat originPattern
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		if scheme != "http" && scheme != "https" {
			return pat, false
		}
		pat.scheme, s = scheme, rest
	}
	if rest, ok := strings.CutPrefix(s, "*."); ok {
		pat.wild, s = true, rest
	}
	host, port, ok := splitHostPort(s)
	if !ok {
		return pat, false
	}
	pat.port = port
	if pat.scheme != "" {
		pat.port = normalPort(pat.scheme, port)
	}
	if ip, ok := parseIPHost(host); ok && !pat.wild {
		pat.ip = ip
		return pat, true
	}
	pat.labels, ok = hostLabels(host)
	return pat, ok
}

// allows reports whether a browser page from origin (an Origin header) may
// open a game socket. An empty origin (non-browser clients send none) is
// always allowed: the check protects browser users from pages on other sites,
// not the server from programs, which can send any Origin they like.
func (p *originPolicy) allows(header string) bool {
	if p.any || header == "" {
		return true
	}
	if strings.EqualFold(header, "null") {
		return p.null
	}
	o, ok := parseOrigin(header)
	if !ok {
		return false
	}
	for i := range p.patterns {
		if p.patterns[i].matches(o) {
			return true
		}
	}
	return false
}

func (pat *originPattern) matches(o origin) bool {
	switch {
	case pat.scheme != "" && pat.scheme != o.scheme:
		return false
	case pat.port != o.port:
		return false
	case pat.ip.IsValid() || o.ip.IsValid():
		return pat.ip == o.ip
	case pat.wild:
		return len(o.labels) > len(pat.labels) && slices.Equal(o.labels[len(o.labels)-len(pat.labels):], pat.labels)
	}
	return slices.Equal(o.labels, pat.labels)
}

// sameOrigin reports whether an Origin header names host, the Host a request
// was sent to: the page that opens the socket was served by this server
// (under the name the browser used for it). Default ports are compared as
// left out, as browsers leave them out of an origin.
func sameOrigin(header, host string) bool {
	o, ok := parseOrigin(header)
	if !ok || (o.scheme != "http" && o.scheme != "https") {
		return false
	}
	h, port, ok := splitHostPort(strings.ToLower(host))
	if !ok {
		return false
	}
	if normalPort(o.scheme, port) != o.port {
		return false
	}
	if ip, isIP := parseIPHost(h); isIP || o.ip.IsValid() {
		return isIP && ip == o.ip
	}
	labels, ok := hostLabels(h)
	return ok && slices.Equal(labels, o.labels)
}
