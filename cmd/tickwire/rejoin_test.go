package main

import (
	"testing"
	"time"
)

// --rejoin-grace reaches netcode with 0 meaning off: netcode.Config reads its
// own 0 as the default.
func TestRejoinGraceFlag(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		want time.Duration
	}{
		{"default", "", nil, 15 * time.Second},
		{"flag", "", []string{"--rejoin-grace", "40s"}, 40 * time.Second},
		{"environment", "2s", nil, 2 * time.Second},
		{"zero is off", "", []string{"--rejoin-grace", "0"}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("TICKWIRE_REJOIN_GRACE", tc.env)
			}
			c, err := parseServe(t, tc.args...)
			if err == nil {
				err = c.validate()
			}
			if err != nil || c.net.RejoinGrace != tc.want {
				t.Fatalf("rejoin grace %v, %v; want %v", c.net.RejoinGrace, err, tc.want)
			}
		})
	}
	c, err := parseServe(t, "--rejoin-grace", "-1s")
	if err == nil {
		err = c.validate()
	}
	if err == nil {
		t.Fatal("a negative --rejoin-grace was accepted")
	}
}
