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
func (s *Signer) Sign(c Claims) string {
	payload, _ := json.Marshal(c) // plain struct of strings and ints: cannot fail
	body := ticketPrefix + base64.RawURLEncoding.EncodeToString(payload)
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
	if len(token) > maxTicket || !strings.HasPrefix(token, ticketPrefix) {
		return c, ErrTicketMalformed
	}
	dot := strings.LastIndexByte(token, '.')
	if dot <= len(ticketPrefix) {
		return c, ErrTicketMalformed
	}
	body, sig := token[:dot], token[dot+1:]
	if _, err := base64.RawURLEncoding.DecodeString(sig); err != nil {
		return c, ErrTicketMalformed
	}
	// Compare the encoded signature, not the decoded one: the decoder skips
	// newlines and ignores the unused low bits of the last character, so
	// several strings decode to the right MAC, and a ticket must have exactly
	// one spelling.
	if !hmac.Equal([]byte(sig), []byte(base64.RawURLEncoding.EncodeToString(s.mac(body)))) {
		return c, ErrTicketForged
	}
	payload, err := base64.RawURLEncoding.DecodeString(body[len(ticketPrefix):])
	if err != nil {
		return c, ErrTicketMalformed
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Player == "" || c.Room == "" {
		return Claims{}, ErrTicketMalformed
	}
	if now.Unix() >= c.Expires {
		return Claims{}, ErrTicketExpired
	}
	return c, nil
}
