package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tickwire/tickwire/bots"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// TestSIGTERMDrainsMatches plays bot matches on a real server process and
// sends it SIGTERM: the node turns unready and refuses new players and rooms at once,
// short matches play to their end during the drain, long ones are ended at
// the drain's end with SHUTDOWN and "going away", the process exits 0, and
// after a restart on the same data every final score a bot saw is on the
// leaderboards.
func TestSIGTERMDrainsMatches(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	args := []string{"--data-dir", dir, "--modes", "arena:4:10m,duel:2:6s", "--match-interval", "100ms", "--shutdown-timeout", "12s", "--log-level", "info"}
	p := startProcess(t, addr, args...)
	lob, err := bots.NewLobby(p.url())
	if err != nil {
		t.Fatal(err)
	}
	long := botRunner(t, p, bots.MatchmakingSeats(lob, "arena", "long", 4), 2, 4)
	short := botRunner(t, p, bots.MatchmakingSeats(lob, "duel", "short", 2), 2, 2)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	reports := make(chan error, 2)
	for _, r := range []*bots.Runner{long, short} {
		go func() {
			rep, err := r.Run(ctx)
			if err == nil && (rep.JoinFailures != 0 || rep.Desyncs != 0) {
				err = fmt.Errorf("%d join failures, %d desyncs: %v", rep.JoinFailures, rep.Desyncs, r.JoinErrors())
			}
			reports <- err
		}()
	}
	waitRunningRooms(t, p, 4)
	if code, body := waitReadyz(t, p, http.StatusOK); body != "ok\n" {
		t.Fatalf("/readyz before SIGTERM: %d %q", code, body)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, body := waitReadyz(t, p, http.StatusServiceUnavailable); !strings.Contains(body, "draining") {
		t.Fatalf("/readyz while draining: %d %q", code, body)
	}
	var se *bots.ServerError
	if _, err := bots.Dial(ctx, bots.Config{URL: p.url(), RoomID: "late", Name: "late"}); !errors.As(err, &se) || se.Code != pb.ErrorCode_ERROR_CODE_SERVER_SHUTDOWN {
		t.Fatalf("a join while draining: %v, want SERVER_SHUTDOWN", err)
	}
	resp, err := http.Post("http://"+p.addr+"/v1/rooms", "application/json", strings.NewReader(`{"mode":"duel"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("room created on a draining node: %s", resp.Status)
	}

	for range 2 {
		if err := <-reports; err != nil {
			t.Fatal(err)
		}
	}
	waitExit(t, p, 30*time.Second)
	checkClosed(t, long.Clients(), 1001, pb.MatchEndReason_MATCH_END_REASON_SHUTDOWN)
	checkClosed(t, short.Clients(), 1000, pb.MatchEndReason_MATCH_END_REASON_TIME_LIMIT)

	p = startProcess(t, addr, args...)
	defer p.kill()
	lctx, lcancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer lcancel()
	for board, clients := range map[string][]*bots.Client{"arena": long.Clients(), "duel": short.Clients()} {
		checked, bad := bots.CheckLeaderboard(lctx, lob, board, clients)
		if checked != len(clients) || bad != 0 {
			t.Fatalf("board %s after the restart: %d of %d final scores checked, %d missing", board, checked, len(clients), bad)
		}
	}
}

// TestSecondSignalEndsDrain sends SIGTERM to a server whose drain would last
// ten minutes, then SIGINT: the second signal ends the drain, the match is
// ended with SHUTDOWN and "going away", and the process exits 0.
func TestSecondSignalEndsDrain(t *testing.T) {
	addr := freeAddr(t)
	p := startProcess(t, addr, "--data-dir", t.TempDir(), "--modes", "arena:2:10m", "--match-interval", "100ms",
		"--shutdown-timeout", "10m", "--log-level", "info")
	lob, err := bots.NewLobby(p.url())
	if err != nil {
		t.Fatal(err)
	}
	r := botRunner(t, p, bots.MatchmakingSeats(lob, "arena", "b", 2), 1, 2)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := r.Run(ctx); done <- err }()
	waitRunningRooms(t, p, 1)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitReadyz(t, p, http.StatusServiceUnavailable)
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitExit(t, p, 30*time.Second)
	checkClosed(t, r.Clients(), 1001, pb.MatchEndReason_MATCH_END_REASON_SHUTDOWN)
}

func botRunner(t *testing.T, p *process, seat func(ctx context.Context, room, n int, name string) (bots.Seat, error), rooms, players int) *bots.Runner {
	t.Helper()
	r, err := bots.NewRunner(bots.RunConfig{
		URL: p.url(), Rooms: rooms, Players: players, Duration: time.Minute,
		Behaviour: "chase", Seed: 11, Seat: seat,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// waitRunningRooms waits until the lobby lists n running rooms.
func waitRunningRooms(t *testing.T, p *process, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var body struct {
			Rooms []struct{} `json:"rooms"`
		}
		resp, err := http.Get("http://" + p.addr + "/v1/rooms?state=running&limit=100")
		if err == nil && decodeJSON(resp, &body) == nil && len(body.Rooms) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rooms running, want %d, within 30s; server output:\n%s", len(body.Rooms), n, p.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitReadyz polls /readyz until it answers want.
func waitReadyz(t *testing.T, p *process, want int) (int, string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + p.addr + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return resp.StatusCode, string(b)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not answer %d within 10s (last: %v)", want, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitExit waits for the process to exit by itself and checks it exited 0.
func waitExit(t *testing.T, p *process, within time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Fatalf("server exited with %v; its output:\n%s", err, p.log)
		}
	case <-time.After(within):
		t.Fatalf("server still running %v after SIGTERM; its output:\n%s", within, p.log)
	}
}

// checkClosed checks that every bot saw a verified MatchEnd with the reason and
// then the close code.
func checkClosed(t *testing.T, clients []*bots.Client, code uint16, reason pb.MatchEndReason) {
	t.Helper()
	for _, c := range clients {
		st := c.Stats()
		if !st.Closed || st.CloseCode != code || st.MatchEnd == nil || !st.MatchEnd.Verified || st.MatchEnd.Reason != reason {
			t.Fatalf("bot %s: closed %v with %d, match end %+v; want %v and close %d", st.Name, st.Closed, st.CloseCode, st.MatchEnd, reason, code)
		}
	}
}
