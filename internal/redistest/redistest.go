// Package redistest starts real redis-server processes for tests, on loopback
// ports, and stops them when the test ends.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a running redis-server.
type Server struct {
	Addr string
	cmd  *exec.Cmd
	dir  string
	port int
	// durable turns on the append-only file, fsynced on every write, so an
	// acknowledged write survives Stop (SIGKILL) and Resume.
	durable bool
}

// Start runs redis-server on a free loopback port with no persistence and
// registers its shutdown with t.Cleanup. It fails the test if redis-server is
// not installed: the README's test command installs it.
func Start(t testing.TB) *Server {
	t.Helper()
	return run(t, false)
}

// StartDurable is Start with an append-only file fsynced on every write: the
// data survives Stop and Resume (or Restart), as on a production Redis with
// appendfsync always, so a test can take Redis away and bring it back.
func StartDurable(t testing.TB) *Server {
	t.Helper()
	return run(t, true)
}

func run(t testing.TB, durable bool) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is not installed; run the README's test command (bash scripts/test.sh), which installs it")
	}
	s := &Server{dir: t.TempDir(), durable: durable}
	s.port = freePort(t)
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() error {
	s.Addr = fmt.Sprintf("127.0.0.1:%d", s.port)
	aof := []string{"--appendonly", "no"}
	if s.durable {
		aof = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	s.cmd = exec.Command("redis-server", append([]string{
		"--port", fmt.Sprint(s.port), "--bind", "127.0.0.1",
		"--save", "", "--dir", s.dir, "--protected-mode", "yes"}, aof...)...)
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "Ready to accept connections") {
				once = true
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
		return nil
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		return fmt.Errorf("redis-server on %s not ready within 10s", s.Addr)
	}
}

// Stop kills the server (SIGKILL, as a crash would); it may be started again
// with Resume or Restart.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Freeze suspends the server (SIGSTOP): it keeps its port and connections
// but answers nothing, as a hung or partitioned Redis would. Thaw resumes it;
// Stop kills it frozen or not.
func (s *Server) Freeze(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGSTOP)
}

// Thaw resumes a frozen server (SIGCONT).
func (s *Server) Thaw(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGCONT)
}

func (s *Server) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if s.cmd == nil || s.cmd.Process == nil {
		t.Fatalf("redis-server on %s is not running", s.Addr)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal redis-server on %s: %v", s.Addr, err)
	}
}

// Restart stops the server and starts it again on the same port: empty, or
// with its data for a server from StartDurable.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.Resume(t)
}

// Resume starts a stopped server again on the same port and address, empty
// or, from StartDurable, with its data. It does nothing if it is running.
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	if s.cmd != nil {
		return
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
