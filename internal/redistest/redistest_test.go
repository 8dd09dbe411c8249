package redistest

import (
	"bufio"
	"net"
	"strings"
	"testing"
)

func TestStartAnswersPing(t *testing.T) {
	s := Start(t)
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "+PONG" {
		t.Fatalf("PING answered %q, %v", line, err)
	}
}

func TestDurableKeepsDataAcrossStopAndResume(t *testing.T) {
	s := StartDurable(t)
	if got := roundTrip(t, s.Addr, "SET k v\r\n"); got != "+OK" {
		t.Fatalf("SET answered %q", got)
	}
	addr := s.Addr
	s.Stop()
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("a stopped server still accepts connections")
	}
	s.Resume(t)
	if s.Addr != addr {
		t.Fatalf("resumed on %s, want %s", s.Addr, addr)
	}
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET k\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	size, _ := r.ReadString('\n')
	val, _ := r.ReadString('\n')
	if strings.TrimSpace(size) != "$1" || strings.TrimSpace(val) != "v" {
		t.Fatalf("GET after resume answered %q %q, want the value written before the stop", size, val)
	}
}

func roundTrip(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(cmd)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}
