package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
