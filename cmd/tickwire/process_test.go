package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as the tickwire binary: with TICKWIRE_TEST_MAIN set
// it runs the command line given there, so tests can start, kill and restart
// real server processes without a separate build.
func TestMain(m *testing.M) {
	if args := os.Getenv("TICKWIRE_TEST_MAIN"); args != "" {
		os.Exit(run(strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// process is a tickwire server running in its own process.
type process struct {
	cmd  *exec.Cmd
	addr string
	log  *strings.Builder
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProcess runs `tickwire serve --addr addr args...` and waits until it
// answers /healthz. The process is killed when the test ends.
func startProcess(t *testing.T, addr string, args ...string) *process {
	t.Helper()
	full := append([]string{"serve", "--addr", addr, "--log-level", "warn"}, args...)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TICKWIRE_TEST_MAIN="+strings.Join(full, "\x1f"))
	p := &process{cmd: cmd, addr: addr, log: &strings.Builder{}}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server on %s not healthy within 20s; its output:\n%s", addr, p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process abruptly (SIGKILL) and reaps it.
func (p *process) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

func (p *process) url() string { return "ws://" + p.addr }

func (p *process) String() string { return fmt.Sprintf("tickwire on %s", p.addr) }

func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
