package lobby

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"
)

// Errors a join ticket is refused with.
var (
	ErrTicketMalformed = errors.New("join ticket is malformed")
	ErrTicketForged    = errors.New("join ticket signature does not match")
	ErrTicketExpired   = errors.New("join ticket has expired")
	ErrTicketWrongRoom = errors.New("join ticket is for another room")
)

// Claims is what a join ticket says: one account may take one seat in one room
// on one node until it expires.
type Claims struct {
	ID      string `json:"tid"`
	Player  string `json:"pid"`
	Name    string `json:"n"`
	Room    string `json:"r"`
	Mode    string `json:"m"`
	Node    string `json:"nd"`
	Expires int64  `json:"exp"` // Unix seconds
	// Party is the matchmaking ticket the player was matched with (its
	// party: every member of a party has the same), and Rating that
	// ticket's rating; empty for a seat taken by room code.
	Party  string  `json:"pt,omitempty"`
	Rating float64 `json:"rt,omitempty"`
	// Team and Attributes are what that request said of this player (its
	// member's team and game-defined attributes); empty where Party is.
	Team       string            `json:"tm,omitempty"`
	Attributes map[string]string `json:"at,omitempty"`
	// Spectate marks a spectator ticket (POST /v1/rooms/{id}/spectate): it
	// admits a join with Join.spectate only, and takes no seat.
	Spectate bool `json:"sp,omitempty"`
}

// ticketPrefix versions the token format.
const ticketPrefix = "tw1."

// Signer issues and verifies join tickets: "tw1." + base64url(JSON claims) +
// "." + base64url(HMAC-SHA256 over everything before the last dot). It is
// safe for concurrent use.
type Signer struct {
	secret []byte
	// macs holds *macState: keyed HMACs to Reset and reuse. A join signs a
	// ticket in the lobby and checks it on the node; keying a fresh HMAC
	// each time cost two extra SHA-256 blocks and four allocations.
	macs sync.Pool
}

// macState is one pooled HMAC and the scratch it hashes from.
type macState struct {
	h   hash.Hash
	buf []byte
}

// macLen is the length of an HMAC-SHA256 in unpadded base64.
const macLen = (sha256.Size*8 + 5) / 6

// MinSecret is the shortest ticket secret accepted, in bytes.
const MinSecret = 16

// NewSigner returns a signer for the given secret.
func NewSigner(secret []byte) (*Signer, error) {
	if len(secret) < MinSecret {
		return nil, fmt.Errorf("ticket secret is %d bytes; at least %d are needed", len(secret), MinSecret)
	}
	return &Signer{secret: append([]byte(nil), secret...)}, nil
}

// Sign returns the token for c.
func (s *Signer) Sign(c Claims) string { return s.sign(ticketPrefix, c) }

// sign returns prefix + base64url(JSON v) + "." + base64url(HMAC). v is a
// plain struct of strings and ints, whose encoding cannot fail. The prefix
// tells the kinds of token apart: it is under the MAC, so one kind never
// passes for another.
func (s *Signer) sign(prefix string, v any) string {
	payload, _ := json.Marshal(v)
	enc := base64.RawURLEncoding
	tok := make([]byte, 0, len(prefix)+enc.EncodedLen(len(payload))+1+macLen)
	tok = enc.AppendEncode(append(tok, prefix...), payload)
	var sum [sha256.Size]byte
	sig := mac(s, sum[:0], tok)
	tok = enc.AppendEncode(append(tok, '.'), sig)
	return string(tok)
}

// mac appends the HMAC of body to dst. body is a string or a []byte.
func mac[T string | []byte](s *Signer, dst []byte, body T) []byte {
	m, _ := s.macs.Get().(*macState)
	if m == nil {
		m = &macState{h: hmac.New(sha256.New, s.secret)}
	}
	m.h.Reset()
	m.buf = append(m.buf[:0], body...)
	m.h.Write(m.buf)
	dst = m.h.Sum(dst)
	if cap(m.buf) <= maxTicket { // a huge body's buffer is not kept
		s.macs.Put(m)
	}
	return dst
}

// maxTicket bounds the token length accepted, before any decoding.
const maxTicket = 1024

// Verify checks the token's signature and expiry at now and returns its claims.
func (s *Signer) Verify(token string, now time.Time) (Claims, error) {
	var c Claims
	if err := s.verify(ticketPrefix, token, &c); err != nil {
		return Claims{}, err
	}
	// A spectator's ticket names no player when the lobby has no identity.
	if (c.Player == "" && !c.Spectate) || c.Room == "" {
		return Claims{}, ErrTicketMalformed
	}
	if now.Unix() >= c.Expires {
		return Claims{}, ErrTicketExpired
	}
	return c, nil
}

// verify checks a token made by sign with prefix and decodes its payload
// into v.
func (s *Signer) verify(prefix, token string, v any) error {
	if len(token) > maxTicket || !strings.HasPrefix(token, prefix) {
		return ErrTicketMalformed
	}
	dot := strings.LastIndexByte(token, '.')
	if dot <= len(prefix) {
		return ErrTicketMalformed
	}
	body, sig := token[:dot], token[dot+1:]
	// Compare the encoded signature, not the decoded one: the decoder skips
	// newlines and ignores the unused low bits of the last character, so
	// several strings decode to the right MAC, and a token must have exactly
	// one spelling.
	var sum [sha256.Size]byte
	var want [macLen]byte
	base64.RawURLEncoding.Encode(want[:], mac(s, sum[:0], body))
	if !equalConstantTime(sig, want[:]) {
		if _, err := base64.RawURLEncoding.DecodeString(sig); err != nil {
			return ErrTicketMalformed
		}
		return ErrTicketForged
	}
	payload, err := base64.RawURLEncoding.DecodeString(body[len(prefix):])
	if err != nil {
		return ErrTicketMalformed
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return ErrTicketMalformed
	}
	return nil
}

// equalConstantTime reports whether a and b are equal, in time that depends
// on their lengths only, without converting a to a []byte.
func equalConstantTime(a string, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := range len(b) {
		v |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}

// consentPrefix versions the party consent format.
const consentPrefix = "twc1."

// Consent is what a party consent says: the player agrees to be queued in a
// party whose ticket the leader creates, until it expires. The player asks
// for it, and hands it to the leader.
type Consent struct {
	Player  string `json:"pid"`
	Leader  string `json:"ldr"`
	Expires int64  `json:"exp"` // Unix seconds
}

// ErrConsent is returned by VerifyConsent for a consent that is malformed,
// forged, expired, or for another player or leader.
var ErrConsent = errors.New("party consent refused")

// SignConsent returns the consent token for c.
func (s *Signer) SignConsent(c Consent) string { return s.sign(consentPrefix, c) }

// VerifyConsent checks that token is a valid, unexpired consent of player to
// join leader's party.
func (s *Signer) VerifyConsent(token, player, leader string, now time.Time) error {
	var c Consent
	switch err := s.verify(consentPrefix, token, &c); {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrConsent, err)
	case c.Player != player || c.Leader != leader:
		return fmt.Errorf("%w: it is %s's consent to %s's party", ErrConsent, c.Player, c.Leader)
	case now.Unix() >= c.Expires:
		return fmt.Errorf("%w: it has expired", ErrConsent)
	}
	return nil
}
