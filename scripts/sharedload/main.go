// Command sharedload plays the arena workload's clients against a tickwire
// server of either wire protocol, so that two builds, one from before game
// schemas (protocol 1) and one after (protocol 2), can be measured under the
// same client. Each build's own bots are not the same client: they differ in
// how they read, how much CPU they use and so how often their sockets sleep,
// and a loopback write costs the server more when it has to wake a sleeping
// reader. This client is the same for both: one goroutine per socket reading
// whatever the socket holds and counting WebSocket messages without
// inflating or decoding them, and one goroutine per room writing each of its
// players' inputs at 10 Hz (dx, dy in {-1, 0, 1}, changed about once a
// second).
//
//	go run ./scripts/sharedload --url http://127.0.0.1:7398 --protocol 1 \
//	    --server-pid $(pgrep -f 'tickwire serve') --rooms 50 --duration 20s
//
// The server must run with --open-rooms and the arena as its open game. It
// prints one JSON object: the server's CPU (from /proc/PID/stat) per message
// the clients received in the window after the ramp-up, bytes received per
// client per second, the share of the expected 20 messages per client per
// second received, and this process's own CPU per message. It sends traffic
// only where --url points, and stops by itself after --ramp-up plus
// --duration.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tickwire/tickwire/internal/wsframe"
)

const tickRate = 20 // the arena's, for the expected message count

type config struct {
	url       string
	protocol  int
	rooms     int
	players   int
	duration  time.Duration
	rampUp    time.Duration
	serverPID int
	prefix    string
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "http://127.0.0.1:7398", "the server's base URL (its /ws is dialled)")
	flag.IntVar(&c.protocol, "protocol", 2, "wire protocol to speak: 1 (before game schemas) or 2")
	flag.IntVar(&c.rooms, "rooms", 50, "open rooms to fill")
	flag.IntVar(&c.players, "players", 16, "players per room")
	flag.DurationVar(&c.duration, "duration", 20*time.Second, "measured window, after the ramp-up")
	flag.DurationVar(&c.rampUp, "ramp-up", 5*time.Second, "time over which clients join, plus 2 s to settle")
	flag.IntVar(&c.serverPID, "server-pid", 0, "the server's process id, for its CPU time (required)")
	flag.StringVar(&c.prefix, "prefix", "", "room ids are <prefix>-N; default a fresh one")
	flag.Parse()
	if err := run(c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sharedload:", err)
		os.Exit(1)
	}
}

// client is one player's connection.
type client struct {
	conn    net.Conn
	room    int
	welcome atomic.Bool // a message arrived: inputs may start
	seq     uint32      // owned by the room's input goroutine
	dx, dy  int32       // owned by the room's input goroutine
}

type counters struct {
	messages atomic.Int64 // complete data messages received
	bytes    atomic.Int64 // bytes read after the handshake
	failed   atomic.Int64 // connections that ended before the run did
}

func run(c config, out io.Writer) error {
	if c.protocol != 1 && c.protocol != 2 {
		return fmt.Errorf("--protocol %d: want 1 or 2", c.protocol)
	}
	if c.serverPID <= 0 {
		return errors.New("--server-pid is required")
	}
	if c.rooms < 1 || c.players < 1 {
		return errors.New("--rooms and --players must be at least 1")
	}
	u, err := url.Parse(c.url)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--url %q: want http://host:port", c.url)
	}
	if c.prefix == "" {
		c.prefix = "shared-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	}
	var cnt counters
	total := c.rooms * c.players
	clients := make([]*client, 0, total)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	gap := c.rampUp / time.Duration(total)
	for i := 0; i < total; i++ {
		room := i % c.rooms
		cl, leftover, err := dial(u.Host, c.protocol, fmt.Sprintf("%s-%d", c.prefix, room), fmt.Sprintf("load%d", i))
		if err != nil {
			close(stop)
			closeAll(clients)
			return fmt.Errorf("client %d: %w", i, err)
		}
		cl.room = room
		clients = append(clients, cl)
		wg.Add(1)
		go func() {
			defer wg.Done()
			read(cl, leftover, &cnt, stop)
		}()
		time.Sleep(gap)
	}
	for r := 0; r < c.rooms; r++ {
		var mine []*client
		for _, cl := range clients {
			if cl.room == r {
				mine = append(mine, cl)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			writeInputs(mine, c.protocol, stop)
		}()
	}
	time.Sleep(2 * time.Second)

	srv0, err := procCPU(c.serverPID)
	if err != nil {
		close(stop)
		closeAll(clients)
		return err
	}
	own0, msg0, bytes0, t0 := ownCPU(), cnt.messages.Load(), cnt.bytes.Load(), time.Now()
	time.Sleep(c.duration)
	srv1, err := procCPU(c.serverPID)
	own1, msg1, bytes1, window := ownCPU(), cnt.messages.Load(), cnt.bytes.Load(), time.Since(t0)
	close(stop)
	closeAll(clients)
	wg.Wait()
	if err != nil {
		return err
	}
	msgs := float64(msg1 - msg0)
	if msgs == 0 {
		return errors.New("no messages received in the window")
	}
	rep := map[string]any{
		"protocol":                        c.protocol,
		"clients":                         total,
		"window_s":                        window.Seconds(),
		"messages":                        msg1 - msg0,
		"server_cpu_s":                    (srv1 - srv0).Seconds(),
		"server_cpu_us_per_client_update": float64((srv1 - srv0).Microseconds()) / msgs,
		"bytes_per_client_per_s":          float64(bytes1-bytes0) / float64(total) / window.Seconds(),
		"delivery_ratio":                  msgs / (float64(total) * tickRate * window.Seconds()),
		"client_cpu_us_per_update":        float64((own1 - own0).Microseconds()) / msgs,
		"failed_connections":              cnt.failed.Load(),
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func closeAll(clients []*client) {
	for _, cl := range clients {
		cl.conn.Close()
	}
}

// dial connects, upgrades with permessage-deflate offered, and sends the
// join. It returns what the server sent after its 101 response.
func dial(host string, protocol int, room, name string) (*client, []byte, error) {
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		return nil, nil, err
	}
	var key [16]byte
	_, _ = rand.Read(key[:])
	req := "GET /ws HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key[:]) + "\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n\r\n"
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil || !strings.Contains(status, " 101 ") {
		conn.Close()
		return nil, nil, fmt.Errorf("upgrade: %q %v", strings.TrimSpace(status), err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("upgrade headers: %w", err)
		}
		if line == "\r\n" {
			break
		}
	}
	leftover, _ := br.Peek(br.Buffered())
	leftover = append([]byte(nil), leftover...)
	_ = conn.SetDeadline(time.Time{})
	cl := &client{conn: conn}
	if _, err := conn.Write(clientFrame(joinBody(protocol, room, name))); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return cl, leftover, nil
}

// joinBody is ClientFrame{join: Join{protocol_version, room_id, name}}; its
// first three fields are the same in both protocols.
func joinBody(protocol int, room, name string) []byte {
	var j []byte
	j = protowire.AppendTag(j, 1, protowire.VarintType)
	j = protowire.AppendVarint(j, uint64(protocol))
	j = protowire.AppendTag(j, 2, protowire.BytesType)
	j = protowire.AppendString(j, room)
	j = protowire.AppendTag(j, 3, protowire.BytesType)
	j = protowire.AppendString(j, name)
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendBytes(b, j)
}

// inputBody is ClientFrame{input: Input{...}}: protocol 1 has sint32 dx (2)
// and dy (3); protocol 2 has the schema's values (5, packed), which for the
// arena are dx and dy, signed INTs sent zigzag-coded.
func inputBody(protocol int, seq uint32, dx, dy int32) []byte {
	in := protowire.AppendTag(nil, 1, protowire.VarintType)
	in = protowire.AppendVarint(in, uint64(seq))
	if protocol == 1 {
		in = protowire.AppendTag(in, 2, protowire.VarintType)
		in = protowire.AppendVarint(in, protowire.EncodeZigZag(int64(dx)))
		in = protowire.AppendTag(in, 3, protowire.VarintType)
		in = protowire.AppendVarint(in, protowire.EncodeZigZag(int64(dy)))
	} else {
		var vals []byte
		vals = protowire.AppendVarint(vals, protowire.EncodeZigZag(int64(dx)))
		vals = protowire.AppendVarint(vals, protowire.EncodeZigZag(int64(dy)))
		in = protowire.AppendTag(in, 5, protowire.BytesType)
		in = protowire.AppendBytes(in, vals)
	}
	b := protowire.AppendTag(nil, 2, protowire.BytesType)
	return protowire.AppendBytes(b, in)
}

func clientFrame(payload []byte) []byte {
	return wsframe.AppendFrame(nil, wsframe.Header{Fin: true, Op: wsframe.OpBinary, Masked: true, Key: wsframe.NewMaskKey()}, payload)
}

// read counts the messages and bytes arriving on cl until stop. It parses
// frame headers only: payloads are skipped, compressed or not.
func read(cl *client, pending []byte, cnt *counters, stop <-chan struct{}) {
	buf := make([]byte, 64<<10)
	start, end := 0, copy(buf, pending)
	skip := 0 // payload bytes of the current frame still to come
	for {
		// Consume whole headers and skip the payloads they announce.
		for {
			if skip > 0 {
				n := min(skip, end-start)
				start, skip = start+n, skip-n
				if skip > 0 {
					break
				}
			}
			h, n, err := wsframe.ParseHeader(buf[start:end])
			if err != nil {
				break // short: wait for more
			}
			start, skip = start+n, int(h.Length)
			if h.Fin && !h.Control() {
				cnt.messages.Add(1)
				cl.welcome.Store(true)
			}
			if h.Op == wsframe.OpClose {
				ended(cnt, stop)
				return
			}
		}
		end = copy(buf, buf[start:end]) // at most a partial header is left
		start = 0
		n, err := cl.conn.Read(buf[end:])
		if err != nil {
			ended(cnt, stop)
			return
		}
		cnt.bytes.Add(int64(n))
		end += n
	}
}

// ended counts a connection that ended before the run did.
func ended(cnt *counters, stop <-chan struct{}) {
	select {
	case <-stop:
	default:
		cnt.failed.Add(1)
	}
}

// writeInputs sends each welcomed client's input at 10 Hz until stop; about
// one input in ten changes direction.
func writeInputs(clients []*client, protocol int, stop <-chan struct{}) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var r [1]byte
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		for _, cl := range clients {
			if !cl.welcome.Load() {
				continue
			}
			_, _ = rand.Read(r[:])
			if cl.seq == 0 || r[0] < 26 { // 26/256, about once a second at 10 Hz
				cl.dx, cl.dy = int32(r[0]%3)-1, int32(r[0]/3%3)-1
			}
			cl.seq++
			_, _ = cl.conn.Write(clientFrame(inputBody(protocol, cl.seq, cl.dx, cl.dy)))
		}
	}
}

// procCPU is process pid's user plus system time, from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("server CPU: %w", err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("server CPU: short %s", b)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("server CPU: bad /proc/%d/stat", pid)
	}
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz, nil
}

func ownCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
