package lobby

import (
	"errors"
	"fmt"
	"reflect"
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
	good := Claims{ID: "t1", Player: "p1", Name: "Ann", Room: "r1", Mode: "arena", Node: "n1", Expires: now.Add(time.Minute).Unix(),
		Party: "t-1", Rating: 1500, Team: "red", Attributes: map[string]string{"class": "medic"}}
	tok := s.Sign(good)

	got, err := s.Verify(tok, now)
	if err != nil || !reflect.DeepEqual(got, good) {
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

// The signer keeps keyed HMACs to reuse: tickets signed and checked from many
// goroutines at once each verify with their own claims, and a ticket of one
// signed with another's signature is refused.
func TestTicketsConcurrent(t *testing.T) {
	s, err := NewSigner([]byte("0123456789abcdef-secret"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 200 {
				c := Claims{ID: fmt.Sprintf("t-%d-%d", g, i), Player: fmt.Sprintf("p-%d", g), Room: fmt.Sprintf("r-%d", i),
					Mode: "arena", Node: "n1", Expires: now.Unix() + 60}
				tok := s.Sign(c)
				if got, err := s.Verify(tok, now); err != nil || !reflect.DeepEqual(got, c) {
					errs <- fmt.Errorf("Verify(%s) = %+v, %v; want %+v", tok, got, err, c)
					return
				}
				other := s.Sign(Claims{ID: "x", Player: "x", Room: "x", Expires: now.Unix() + 60})
				forged := tok[:strings.LastIndexByte(tok, '.')] + other[strings.LastIndexByte(other, '.'):]
				if _, err := s.Verify(forged, now); !errors.Is(err, ErrTicketForged) {
					errs <- fmt.Errorf("Verify(forged) = %v, want ErrTicketForged", err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
