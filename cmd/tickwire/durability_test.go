package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickwire/tickwire/lobby/leaderboard"
)

// TestKill9LosesNoAcknowledgedScore submits scores from several clients to a
// real server process with the embedded store, kills it with SIGKILL while
// submissions are in flight, restarts it on the same data and checks that
// every score the server acknowledged is there.
func TestKill9LosesNoAcknowledgedScore(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	args := []string{"--data-dir", dir, "--api-key", "k", "--modes", "arena:4"}
	p := startProcess(t, addr, args...)

	var (
		mu    sync.Mutex
		acked = map[string]int64{}
		n     atomic.Int64
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				player := fmt.Sprintf("w%d-%d", w, i)
				score := int64(w*100000 + i)
				body := fmt.Sprintf(`{"player_id":%q,"score":%d}`, player, score)
				req, _ := http.NewRequest("POST", "http://"+addr+"/v1/leaderboards/arena/scores", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer k")
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					mu.Lock()
					acked[player] = score
					mu.Unlock()
					n.Add(1)
				}
			}
		})
	}
	for n.Load() < 300 {
		time.Sleep(5 * time.Millisecond)
	}
	p.kill() // SIGKILL with submissions in flight
	close(stop)
	wg.Wait()

	p = startProcess(t, addr, args...)
	defer p.kill()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d scores acknowledged before the kill", len(acked))
	for player, score := range acked {
		resp, err := client.Get("http://" + addr + "/v1/leaderboards/arena/players/" + player)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Score int64 `json:"score"`
		}
		err = decodeJSON(resp, &e)
		if err != nil || e.Score != score {
			t.Fatalf("acknowledged score %d of %s after the restart: %+v, %v", score, player, e, err)
		}
	}
}

// TestServeRefusesTruncatedStore cuts a real leaderboards.db short and starts
// the server on it: it exits 1 with a message naming the file and what to
// do, and leaves the file alone, where bbolt alone killed it with SIGBUS.
func TestServeRefusesTruncatedStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "leaderboards.db")
	s, err := leaderboard.OpenBolt(path, leaderboard.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.CreateBoard(ctx, leaderboard.Board{ID: "arena"}); err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		if _, err := s.Submit(ctx, "arena", fmt.Sprint("player-", i), "a name", int64(i), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	half := fi.Size() / 2
	if err := os.Truncate(path, half); err != nil {
		t.Fatal(err)
	}

	full := []string{"serve", "--addr", freeAddr(t), "--data-dir", dir, "--log-level", "warn"}
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TICKWIRE_TEST_MAIN="+strings.Join(full, "\x1f"))
	cmd.WaitDelay = 30 * time.Second
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the server on a truncated store did not exit; its output:\n%s", out.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("the server on a truncated store ended with %v, want exit status 1; its output:\n%s", err, out.String())
	}
	msg := out.String()
	for _, want := range []string{path, "cut short", "restore it from a backup", "move it aside"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the server's message does not say %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "SIGBUS") || strings.Contains(msg, "goroutine ") {
		t.Errorf("the server crashed instead of refusing the file:\n%s", msg)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != half {
		t.Errorf("the refused file changed: %v, %v", fi, err)
	}
}
