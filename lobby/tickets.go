package lobby

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
}

// ticketPrefix versions the token format.
const ticketPrefix = "tw1."

// Signer issues and verifies join tickets: "tw1." + base64url(JSON claims) +
// "." + base64url(HMAC-SHA256 over everything before the last dot).
type Signer struct {
	secret []byte
}

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
	body := prefix + base64.RawURLEncoding.EncodeToString(payload)
	return body + "." + base64.RawURLEncoding.EncodeToString(s.mac(body))
}

func (s *Signer) mac(body string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(body))
	return m.Sum(nil)
}

// maxTicket bounds the token length accepted, before any decoding.
const maxTicket = 1024

// Verify checks the token's signature and expiry at now and returns its claims.
func (s *Signer) Verify(token string, now time.Time) (Claims, error) {
	var c Claims
	if err := s.verify(ticketPrefix, token, &c); err != nil {
		return Claims{}, err
	}
	if c.Player == "" || c.Room == "" {
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
	if _, err := base64.RawURLEncoding.DecodeString(sig); err != nil {
		return ErrTicketMalformed
	}
	// Compare the encoded signature, not the decoded one: the decoder skips
	// newlines and ignores the unused low bits of the last character, so
	// several strings decode to the right MAC, and a token must have exactly
	// one spelling.
	if !hmac.Equal([]byte(sig), []byte(base64.RawURLEncoding.EncodeToString(s.mac(body)))) {
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
