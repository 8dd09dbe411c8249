package lobby

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTickets(t *testing.T) {
	s, err := NewSigner([]byte("0123456789abcdef-secret"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewSigner([]byte("another-secret-of-16+"))
	now := time.Unix(1_800_000_000, 0)
	good := Claims{ID: "t1", Player: "p1", Name: "Ann", Room: "r1", Mode: "arena", Node: "n1", Expires: now.Add(time.Minute).Unix()}
	tok := s.Sign(good)

	got, err := s.Verify(tok, now)
	if err != nil || got != good {
		t.Fatalf("Verify(good) = %+v, %v", got, err)
	}
	// Flip one character of the payload: the signature no longer matches.
	i := len(ticketPrefix) + 5
	tampered := tok[:i] + string(rune(tok[i]^1)) + tok[i+1:]
	tests := []struct {
		name  string
		token string
		at    time.Time
		want  error
	}{
		{"expired", tok, now.Add(time.Minute), ErrTicketExpired},
		{"tampered payload", tampered, now, ErrTicketForged},
		{"other secret", other.Sign(good), now, ErrTicketForged},
		{"empty", "", now, ErrTicketMalformed},
		{"no prefix", strings.TrimPrefix(tok, ticketPrefix), now, ErrTicketMalformed},
		{"no signature", tok[:strings.LastIndexByte(tok, '.')], now, ErrTicketMalformed},
		{"bad base64 signature", tok + "!!", now, ErrTicketMalformed},
		{"huge", ticketPrefix + strings.Repeat("A", 5000), now, ErrTicketMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Verify(tc.token, tc.at); !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Fatal("a 5-byte secret was accepted")
	}
}
