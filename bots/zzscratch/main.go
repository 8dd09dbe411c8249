package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/netcode"
)

func main() {
	rooms := flag.Int("rooms", 4, "")
	players := flag.Int("players", 16, "")
	dur := flag.Duration("d", 8*time.Second, "")
	ramp := flag.Duration("ramp", 2*time.Second, "")
	out := flag.String("o", "/tmp/report.html", "")
	flag.Parse()
	srv, _ := netcode.NewServer(netcode.Config{OpenRooms: true})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	mux.HandleFunc("/v1/stats", func(w http.ResponseWriter, r *http.Request) {
		ts := srv.TickStats()
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		b, _ := os.ReadFile("/proc/self/statm")
		pages, _ := strconv.ParseInt(strings.Fields(string(b))[1], 10, 64)
		st := srv.Stats()
		json.NewEncoder(w).Encode(map[string]any{
			"connections": st.Connections, "rooms": st.Rooms, "state_frames_out": st.StateFramesOut,
			"cpu_seconds": time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(), "rss_bytes": pages * 4096,
			"tick_p50_ms": float64(ts.P50) / 1e6, "tick_p99_ms": float64(ts.P99) / 1e6, "tick_max_ms": float64(ts.Max) / 1e6, "tick_overruns": ts.Overruns,
		})
	})
	go http.Serve(ln, mux)
	rep, err := bots.Run(context.Background(), bots.RunConfig{URL: "ws://" + ln.Addr().String(), Rooms: *rooms, Players: *players,
		Duration: *dur, RampUp: *ramp, Progress: os.Stderr})
	if err != nil {
		panic(err)
	}
	rep.Print(os.Stdout)
	f, _ := os.Create(*out)
	if err := rep.WriteHTML(f); err != nil {
		panic(err)
	}
	f.Close()
	j, _ := json.Marshal(rep)
	fmt.Println(len(j), "bytes of JSON")
}
