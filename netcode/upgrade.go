package netcode

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/lxzan/gws"
)

// The HTTP side of RFC 6455 and RFC 7692 that gws leaves to us: the checks
// of an upgrade request gws does not make, and which permessage-deflate
// offers to accept. gws then writes the 101, and reads the connection
// through a guardConn, which inflates compressed messages and enforces the
// frame rules.

// upgradeRefusal is why an upgrade request is refused before the upgrade:
// the HTTP status, a text body, and for a wrong version the header that
// names the one we speak.
type upgradeRefusal struct {
	status  int
	msg     string
	version bool // add Sec-WebSocket-Version: 13 (with 426)
}

// checkUpgrade checks what RFC 6455 (section 4.2.1) asks of an opening
// handshake beyond what gws checks (method, Upgrade and Connection). It
// returns nil for a request to upgrade.
func checkUpgrade(r *http.Request) *upgradeRefusal {
	if !r.ProtoAtLeast(1, 1) {
		return &upgradeRefusal{status: http.StatusBadRequest, msg: fmt.Sprintf("a WebSocket upgrade needs HTTP/1.1 or later, not %s", r.Proto)}
	}
	if v := r.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		return &upgradeRefusal{status: http.StatusUpgradeRequired, version: true,
			msg: fmt.Sprintf("Sec-WebSocket-Version %q is not supported; this server speaks 13", strings.Join(v, ", "))}
	}
	key := r.Header.Values("Sec-WebSocket-Key")
	if len(key) != 1 || !validKey(key[0]) {
		return &upgradeRefusal{status: http.StatusBadRequest, msg: "Sec-WebSocket-Key must be 16 random bytes in base64"}
	}
	return nil
}

// validKey reports whether k is 16 bytes in padded standard base64.
func validKey(k string) bool {
	k = strings.TrimSpace(k)
	if len(k) != 24 {
		return false
	}
	var b [18]byte
	n, err := base64.StdEncoding.Strict().Decode(b[:], []byte(k))
	return err == nil && n == 16
}

func (u *upgradeRefusal) write(w http.ResponseWriter) {
	if u.version {
		w.Header().Set("Sec-WebSocket-Version", "13")
	}
	http.Error(w, u.msg, u.status)
}

// acceptDeflate reports whether one of the permessage-deflate offers in the
// Sec-WebSocket-Extensions values is one we can honour. gws then answers
// "permessage-deflate; server_no_context_takeover;
// client_no_context_takeover": the server compresses every message on its
// own, and the guard inflates every client message on its own, so both
// directions go without context takeover, with the full 32 KiB window.
// An offer with a parameter RFC 7692 does not define for an offer, a
// parameter twice, or a value out of range is declined (section 5: a server
// declines an offer it cannot accept). So is one with server_max_window_bits:
// the server's compressor always uses a 32 KiB window, and gws's answer
// cannot echo the parameter, as accepting it would need (section 7.1.2.1).
func acceptDeflate(values []string) bool {
	for _, v := range values {
		for _, offer := range splitQuoted(v, ',') {
			if deflateOffer(offer) {
				return true
			}
		}
	}
	return false
}

// deflateOffer reports whether one extension offer is a permessage-deflate
// one we accept.
func deflateOffer(offer string) bool {
	parts := splitQuoted(offer, ';')
	if len(parts) == 0 || !strings.EqualFold(strings.TrimSpace(parts[0]), "permessage-deflate") {
		return false
	}
	seen := map[string]bool{}
	for _, p := range parts[1:] {
		name, value, hasValue := strings.Cut(strings.TrimSpace(p), "=")
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.Trim(strings.TrimSpace(value), `"`)
		if seen[name] {
			return false
		}
		seen[name] = true
		switch name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if hasValue {
				return false
			}
		case "client_max_window_bits":
			// We inflate with a full window, so any client window works; the
			// answer may leave it out (section 7.1.2.2).
			if _, ok := windowBits(value); hasValue && !ok {
				return false
			}
		default: // server_max_window_bits (see above), or unknown
			return false
		}
	}
	return true
}

// windowBits parses a max_window_bits value: 8 to 15, digits only.
func windowBits(v string) (int, bool) {
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 8 && n <= 15
}

// splitQuoted splits s at sep outside double quotes.
func splitQuoted(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if strings.TrimSpace(s[start:]) != "" || len(out) > 0 {
		out = append(out, s[start:])
	}
	return out
}

// upgraders are gws's: gws writes the 101 and its extension answer, so there
// is one that answers permessage-deflate and one that does not, and
// acceptDeflate picks. Neither inflates: the guard hands gws plain frames.
type upgraders struct{ plain, deflate *gws.Upgrader }

func newUpgraders(ev gws.Event, opt gws.ServerOption, level int) upgraders {
	d := opt
	d.PermessageDeflate = gws.PermessageDeflate{
		Enabled: true,
		// gws compresses nothing for us (frames are deflated once per room
		// by the hub), so its pool of compressors needs only one.
		PoolSize:              1,
		Level:                 level,
		ServerContextTakeover: false,
		ClientContextTakeover: false,
		ServerMaxWindowBits:   15,
		ClientMaxWindowBits:   15,
	}
	opt.PermessageDeflate = gws.PermessageDeflate{}
	return upgraders{plain: gws.NewUpgrader(ev, &opt), deflate: gws.NewUpgrader(ev, &d)}
}

// upgrade checks r, hijacks the connection and upgrades it: gws reads it
// through a gwsConn (which keeps gws's writes off the socket) over a
// guardConn. On a refusal it has answered the request.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request) (*gws.Conn, *gwsConn, *guardConn, error) {
	if ref := checkUpgrade(r); ref != nil {
		ref.write(w)
		return nil, nil, nil, fmt.Errorf("upgrade refused: %s", ref.msg)
	}
	deflate := !s.cfg.NoDeflate && acceptDeflate(r.Header.Values("Sec-WebSocket-Extensions"))
	u := s.upgraders.plain
	if deflate {
		u = s.upgraders.deflate
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "this connection cannot be upgraded", http.StatusInternalServerError)
		return nil, nil, nil, fmt.Errorf("upgrade: %T is not an http.Hijacker", w)
	}
	netConn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("upgrade: hijack: %w", err)
	}
	// Bytes the HTTP server read past the request (a client may send its
	// first frames without waiting for the 101) come first.
	var src io.Reader = netConn
	if n := brw.Reader.Buffered(); n > 0 {
		ahead, _ := brw.Reader.Peek(n)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(ahead)), netConn)
	}
	g := newGuardConn(netConn, src, guardRules{deflate: deflate, hardLimit: hardReadLimit(s.cfg.ReadLimit)})
	gc := &gwsConn{Conn: g}
	conn, err := u.UpgradeFromConn(gc, bufio.NewReaderSize(gc, readBufferSize), r)
	if err != nil {
		return nil, nil, nil, err
	}
	return conn, gc, g, nil
}

// hardReadLimit is the largest message the guard reads at all; one over it,
// compressed or once inflated, closes with 1009.
func hardReadLimit(readLimit int) int { return max(readLimit*4, 16<<10) }

// guardHooks connect a connection's guard to its session: fragments are
// charged to its rate limit, and a verdict closes it through the session,
// the socket's one writer.
func (s *session) guardHooks() guardHooks {
	return guardHooks{charge: s.admit, refuse: s.refuseFrames}
}

// refuseFrames closes a connection whose frames broke RFC 6455 or 7692, with
// the close code the RFCs give, and counts it.
func (s *session) refuseFrames(code uint16, reason string) {
	if code == closeMessageTooLarge {
		s.env.stats.framesTooLarge.Add(1)
	} else {
		s.env.stats.protocolErrors.Add(1)
	}
	s.env.log.Info().Str("conn", s.id).Str("room", s.roomID()).Uint32("player", s.player.Load()).
		Uint16("close", code).Str("reason", reason).Msg("client broke the WebSocket protocol: closed")
	s.close(code, reason)
}
