package bots

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/internal/wsframe"
	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// ProtocolVersion is the wire protocol version a Client speaks.
const ProtocolVersion = uint32(tickwirev1.ProtocolVersion_PROTOCOL_VERSION_2)

const (
	defaultJoinTimeout = 10 * time.Second
	// errorCloseGrace is how long Dial waits for the server's close after an
	// Error frame, to report the close code along with the error.
	errorCloseGrace = time.Second
	// maxPendingWrites bounds a bot's queued outgoing frames: a server that
	// stops reading costs inputs (counted as dropped), not memory.
	maxPendingWrites = 8
	// handshakeBufferSize is gws's read buffer, which reads only the
	// handshake's response (see handshakeConn).
	handshakeBufferSize = 512
	// maxFrameSize is the largest frame (after inflating) a bot accepts.
	maxFrameSize = 4 << 20
)

// ErrBackpressure is returned when a frame is not sent because the bot's
// earlier frames are still queued.
var ErrBackpressure = errors.New("write queue full")

// Config configures one [Client]. URL, RoomID and Name are required.
type Config struct {
	// URL is the server's base address, e.g. ws://127.0.0.1:7350; the client
	// connects to its /ws path. A URL that already has a path is used as is;
	// http and https are taken as ws and wss.
	URL string
	// RoomID is the room to join.
	RoomID string
	// Name is the display name: at most 32 characters, no control, format or
	// bidi characters (the server refuses others with BAD_FRAME).
	Name string
	// Ticket is a signed join ticket from the lobby; empty for open rooms.
	Ticket string
	// Game, for an open room (no Ticket), names the game the room plays
	// (Join.game): the join that creates the room picks it, and a room of
	// another game refuses the join (ERROR_CODE_GAME_MISMATCH), as does a
	// server that hosts no such game (ERROR_CODE_UNKNOWN_GAME). Empty: the
	// server's open game, or whatever the room plays.
	Game string
	// OnEvent, if set, is called with each game message the server sends
	// this client (GameEvents), in order, with the tick they came with. It
	// runs on the client's read goroutine with the client locked: it must
	// not block or call the client.
	OnEvent func(tick uint64, op uint32, data []byte)
	// OnChat, if set, is called with each chat line of the room, under the
	// same terms as OnEvent.
	OnChat func(tick uint64, player uint32, name, text string)
	// ResumeToken, from an earlier [Session] in the same room, makes the join
	// a rejoin: the server gives back that seat (player, entity and score)
	// if it still holds it, and refuses with RESUME_EXPIRED otherwise. See
	// [Client.Rejoin].
	ResumeToken string
	// Spectate joins as a spectator: no seat, the room's state only; the
	// server answers each input with ERROR_CODE_SPECTATOR. With a lobby,
	// Ticket is then a spectator ticket (POST /v1/rooms/{id}/spectate).
	Spectate bool
	// Account is the lobby player id the ticket was issued for, kept in Stats
	// so results can be checked against leaderboards.
	Account string
	// Behaviour decides the inputs [Client.Act] sends. Default [Idle].
	Behaviour Behaviour
	// JoinTimeout bounds connecting, the WebSocket handshake and waiting for
	// Welcome. Default 10 s.
	JoinTimeout time.Duration
	// DisableCompression turns permessage-deflate off: the server then sends
	// this client uncompressed frames. With it on, compressed frames are
	// inflated by inflaters shared by every client of the process, so it
	// costs a client no memory of its own but a fragmented message's bytes
	// while they arrive.
	DisableCompression bool
	// Logger receives the client's events, with room and bot fields added.
	// The zero value logs nothing.
	Logger zerolog.Logger

	// meter, if set, is the Runner's live counters this client adds to.
	meter *meter
}

// Session is what the server told the client in Welcome.
type Session struct {
	PlayerID uint32
	EntityID uint32
	RoomID   string
	// TickRate is in ticks per second.
	TickRate uint32
	// Tick0 is when tick 0 was scheduled; tick T is scheduled at
	// Tick0 + T/TickRate seconds.
	Tick0 time.Time
	// ServerTime is the server's clock when it built the Welcome.
	ServerTime time.Time
	// Match holds the match rules; it must not be modified.
	Match *tickwirev1.MatchInfo
	// ResumeToken reclaims this seat after a dropped connection
	// ([Client.Rejoin]); Resumed reports that this Welcome did so.
	ResumeToken string
	Resumed     bool
	// Spectator reports a spectator's Welcome: PlayerID and EntityID are 0.
	Spectator bool
}

// ServerError is an Error frame the server sent. As the error of a failed
// [Dial] it says why the join was refused.
type ServerError struct {
	Code    tickwirev1.ErrorCode
	Message string
	// Reason is the game's own code when Code is JOIN_REFUSED.
	Reason string
	// CloseCode is the WebSocket close code that followed (4000 + Code by
	// protocol), or 0 if the connection had not closed yet.
	CloseCode uint16
}

func (e *ServerError) Error() string {
	s := fmt.Sprintf("server error %s: %s", e.Code, e.Message)
	if e.Reason != "" {
		s = fmt.Sprintf("server error %s (%s): %s", e.Code, e.Reason, e.Message)
	}
	if e.CloseCode != 0 {
		s += fmt.Sprintf(" (close %d)", e.CloseCode)
	}
	return s
}

// FinalScore is one player's result in a MatchEnd.
type FinalScore struct {
	PlayerID uint32 `json:"player_id"`
	Name     string `json:"name"`
	Score    int64  `json:"score"`
	Rank     uint32 `json:"rank"`
}

// MatchResult is the MatchEnd a client received.
type MatchResult struct {
	Tick   uint64                    `json:"tick"`
	Reason tickwirev1.MatchEndReason `json:"reason"`
	// Detail is the game's own reason when Reason is GAME.
	Detail string `json:"detail,omitempty"`
	// Scores are the final standings, best first, as the server sent them.
	Scores   []FinalScore `json:"scores"`
	Checksum uint32       `json:"checksum"`
	// Verified reports that the mirror was in sync at Tick when MatchEnd
	// arrived and its checksum matched. When the mirror was at another tick
	// the checksum could not be compared and Verified is false; a mismatch at
	// the same tick is counted as a desync.
	Verified bool `json:"verified"`
}

// Stats are a client's counters. Frame counts, bytes and latency cover the
// measured window: from Welcome until the first of MatchEnd, the connection
// closing, or the runner stopping the bot.
type Stats struct {
	RoomID   string
	Name     string
	Account  string
	PlayerID uint32
	TickRate uint32
	// JoinTime is from starting to dial until Welcome arrived.
	JoinTime time.Duration
	// Connected is the length of the measured window.
	Connected time.Duration
	// FramesReceived counts every ServerFrame, in or out of the window.
	FramesReceived int64
	// Deltas and Snapshots count frames applied to the mirror, in or out of
	// the window; Snapshots excludes the Welcome's.
	Deltas    int64
	Snapshots int64
	// Updates counts deltas and snapshots applied within the window that
	// moved the mirror to a later tick: the figure to compare with TickRate ×
	// Connected, and never more than WindowTicks.
	Updates int64
	// WindowTicks is how many ticks the window's updates span: from the tick
	// the window opened at (the Welcome's) to the last one applied in it.
	// Frames queued behind a late Welcome arrive in a burst, so a client can
	// apply more ticks than TickRate × Connected; they were still expected.
	WindowTicks int64
	// FramesMissed counts tick numbers skipped between consecutive applied
	// updates in the window (after a server stall as well as after loss).
	FramesMissed int64
	// DeltasIgnored counts deltas dropped while waiting for a snapshot.
	DeltasIgnored int64
	// Desyncs counts detected divergences: a checksum mismatch, a delta for
	// another base tick, or a malformed frame. Each sends a ResyncRequest.
	Desyncs int64
	// Resyncs counts ResyncRequests sent, retries included.
	Resyncs int64
	// BadFrames counts frames that were not a decodable binary ServerFrame or
	// came out of place (a delta before Welcome, a second Welcome, ...).
	BadFrames int64
	// WireBytes counts bytes read from the TCP connection in the window:
	// WebSocket frame headers and payloads as sent, compressed or not.
	// PayloadBytes counts WebSocket message payloads after inflating.
	WireBytes    int64
	PayloadBytes int64
	// TotalWireBytes counts every byte read, the HTTP handshake included.
	TotalWireBytes int64
	// Deflate reports that the server agreed to permessage-deflate.
	Deflate bool
	// InputsSent and InputsDropped count inputs, the latter not sent because
	// of ErrBackpressure. LastSentSeq is the seq of the last input sent and
	// LastAckedSeq the last one the server acknowledged.
	InputsSent    int64
	InputsDropped int64
	// Events counts the game messages received from the server; ChatSent
	// and ChatReceived the chat lines sent and heard (the bot's own
	// included, as the server sends every line to everyone).
	Events       int64
	ChatSent     int64
	ChatReceived int64
	LastSentSeq  uint32
	LastAckedSeq uint32
	// Latency holds, per delta or snapshot arriving in the window, its arrival
	// time minus the time its tick was scheduled on the server. It is only
	// meaningful when client and server clocks agree, e.g. on one host.
	Latency Histogram
	// RTT holds Ping round trips.
	RTT Histogram
	// MatchEnd is the MatchEnd received, or nil.
	MatchEnd *MatchResult
	// ServerError is the last Error frame received, or nil.
	ServerError *ServerError
	// CloseCode is the close code the server sent, 0 if the connection ended
	// otherwise (closed by this client, a network error, or still open).
	CloseCode uint16
	// Closed reports that the connection has ended.
	Closed bool
}

// Client is one headless game client: it joins a room over WebSocket, keeps a
// verified [Mirror] of the room's state, sends its [Behaviour]'s inputs when
// [Client.Act] is called and records [Stats].
//
// A Client costs one goroutine (its read loop, which also applies frames);
// it starts none to send inputs: whoever drives it (the [Runner]'s single
// ticker) calls Act, which writes the input to the socket there and then
// (a second goroutine runs only while the server leaves the socket full).
// In memory it costs about 24 KiB of heap and stack, with
// or without permessage-deflate (see [Config.DisableCompression]), and holds
// a read buffer only while it reads. Its methods are safe for concurrent use.
type Client struct {
	cfg   Config
	addr  string
	meter *meter         // the runner's live counters, or nil
	log   zerolog.Logger // set once in newClient: write callbacks read it unlocked

	writer frameWriter  // the write side; set by Dial before the read loop starts
	raw    net.Conn     // the TCP connection, for Drop; set with writer
	reader *wsReader    // the read side; set with writer, used by the read loop only
	wire   atomic.Int64 // bytes read from the TCP connection

	joinDone chan struct{} // closed on Welcome, or on close before it
	errFrame chan struct{} // closed on an Error frame before Welcome
	done     chan struct{} // closed when the connection has closed

	// mu guards everything below. The read loop holds it while applying a
	// frame; Act holds it while the Behaviour reads the mirror.
	mu               sync.Mutex
	mirror           Mirror
	inputVals        []uint64 // reused to encode inputs
	inputFrame       inputFrame
	behaviour        Behaviour
	session          Session
	tick0Us          int64
	welcomed         bool
	playing          bool // counted in meter.playing
	joinSignalled    bool
	errSignalled     bool
	closed           bool
	closedByClient   bool
	awaitingSnapshot bool
	ignoredInResync  int
	lastUpdateTick   uint64
	windowTick       uint64 // the tick the measured window opened at
	topTick          uint64 // the latest tick applied: an update counts once it passes it
	seq              uint32
	joinStart        time.Time
	measuring        bool
	windowStart      time.Time
	windowEnd        time.Time
	wireAtStart      int64
	wireAtEnd        int64
	stats            Stats
}

// inputFrame is the ClientFrame an input is sent in, reused so that sending
// one allocates nothing.
type inputFrame struct {
	frame tickwirev1.ClientFrame
	body  tickwirev1.ClientFrame_Input
	input tickwirev1.Input
}

// set makes f.frame the input seq with vals, and returns it.
func (f *inputFrame) set(seq uint32, vals []uint64) *tickwirev1.ClientFrame {
	f.input.Seq, f.input.Values = seq, vals
	f.body.Input = &f.input
	f.frame.Body = &f.body
	return &f.frame
}

// Dial connects to the server, joins cfg.RoomID and waits for the Welcome. It
// returns a live client, or an error wrapping a *[ServerError] if the server
// refused the join.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.join(ctx); err != nil {
		return nil, fmt.Errorf("join room %s as %s: %w", cfg.RoomID, cfg.Name, err)
	}
	return c, nil
}

func newClient(cfg Config) (*Client, error) {
	if cfg.RoomID == "" || cfg.Name == "" {
		return nil, errors.New("bots: client config needs a room id and a name")
	}
	addr, err := socketURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = defaultJoinTimeout
	}
	if cfg.Behaviour == nil {
		cfg.Behaviour = Idle{}
	}
	c := &Client{
		cfg:       cfg,
		addr:      addr,
		meter:     cfg.meter,
		log:       cfg.Logger.With().Str("room", cfg.RoomID).Str("bot", cfg.Name).Logger(),
		behaviour: cfg.Behaviour,
		joinDone:  make(chan struct{}),
		errFrame:  make(chan struct{}),
		done:      make(chan struct{}),
	}
	c.stats.RoomID, c.stats.Name, c.stats.Account = cfg.RoomID, cfg.Name, cfg.Account
	return c, nil
}

// socketURL turns a server base URL into the game socket's address.
func socketURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("bots: server url %q: %w", base, err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("bots: server url %q: scheme must be ws or wss", base)
	}
	if u.Host == "" {
		return "", fmt.Errorf("bots: server url %q has no host", base)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/ws"
	}
	return u.String(), nil
}

func (c *Client) join(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.JoinTimeout)
	defer cancel()
	c.mu.Lock()
	c.joinStart = time.Now()
	c.mu.Unlock()

	if err := c.connect(ctx); err != nil {
		return fmt.Errorf("connect %s: %w", c.addr, err)
	}
	go c.readLoop()

	err := c.writer.writeMessage(&tickwirev1.ClientFrame{Body: &tickwirev1.ClientFrame_Join{Join: &tickwirev1.Join{
		ProtocolVersion: ProtocolVersion,
		RoomId:          c.cfg.RoomID,
		Name:            c.cfg.Name,
		Ticket:          c.cfg.Ticket,
		Game:            c.cfg.Game,
		ResumeToken:     c.cfg.ResumeToken,
		Spectate:        c.cfg.Spectate,
	}}})
	if err != nil {
		_ = c.Close()
		return fmt.Errorf("send join: %w", err)
	}
	return c.awaitWelcome(ctx)
}

// connect dials the server, counting the bytes read, does the WebSocket
// handshake through gws and sets up the bot's own read and write sides
// (c.reader, c.writer), which own the socket from then on: gws's Conn is
// dropped. With compression on, the bot offers permessage-deflate itself
// (see deflateOffer); it sends its own frames uncompressed, as gws did,
// having been told of no extension.
func (c *Client) connect(ctx context.Context) error {
	u, err := url.Parse(c.addr)
	if err != nil {
		return err
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "wss" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return err
	}
	c.raw = raw
	var conn net.Conn = &countingConn{Conn: raw, n: &c.wire, meter: c.meter}
	if u.Scheme == "wss" {
		conn = tls.Client(conn, &tls.Config{ServerName: u.Hostname()})
	}
	hs := newHandshakeConn(conn)
	_, resp, err := gws.NewClientFromConn(&gws.BuiltinEventHandler{}, c.clientOption(), hs)
	if err != nil {
		return err
	}
	deflate := false
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); strings.Contains(ext, "permessage-deflate") {
		if c.cfg.DisableCompression || !strings.Contains(ext, "server_no_context_takeover") {
			_ = raw.Close()
			return fmt.Errorf("server wants permessage-deflate with context takeover or unasked (%q), which bots do not keep", ext)
		}
		deflate = true
		c.mu.Lock()
		c.stats.Deflate = true
		c.mu.Unlock()
	}
	c.reader = &wsReader{sink: (*clientSink)(c), limit: maxFrameSize, deflate: deflate}
	if deflate {
		c.reader.cache = sharedFrames
	}
	rest, br := hs.rest()
	if rc := socketOf(raw); rc != nil && u.Scheme != "wss" {
		c.reader.raw, c.reader.count = rc, c.countRead
		c.reader.preload(rest) // read through countingConn: counted
		hs.br = nil            // gws reads no more, and the reader has its bytes
		c.writer = newWriter(raw, rc, c.log)
	} else {
		c.reader.src = br
		c.writer = newWriter(conn, nil, c.log)
	}
	return nil
}

// countRead counts n bytes the read loop read from the socket itself.
func (c *Client) countRead(n int) {
	c.wire.Add(int64(n))
	if c.meter != nil {
		c.meter.wire.Add(int64(n))
	}
}

func (c *Client) clientOption() *gws.ClientOption {
	opt := &gws.ClientOption{
		Addr:               c.addr,
		ReadBufferSize:     handshakeBufferSize,
		ReadMaxPayloadSize: maxFrameSize,
		HandshakeTimeout:   c.cfg.JoinTimeout,
		// gws is told nothing of permessage-deflate: see deflateOffer.
		RequestHeader: http.Header{},
		Logger:        gwsLogger{c.log},
	}
	if !c.cfg.DisableCompression {
		opt.RequestHeader.Set("Sec-WebSocket-Extensions", deflateOffer)
	}
	return opt
}

func (c *Client) awaitWelcome(ctx context.Context) error {
	select {
	case <-c.joinDone:
	case <-ctx.Done():
	case <-c.errFrame:
		t := time.NewTimer(errorCloseGrace)
		select {
		case <-c.joinDone:
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	c.mu.Lock()
	welcomed, serverErr, closed, code := c.welcomed, c.stats.ServerError, c.closed, c.stats.CloseCode
	c.mu.Unlock()
	if welcomed {
		return nil
	}
	_ = c.Close()
	switch {
	case serverErr != nil:
		e := *serverErr
		return &e
	case closed:
		return fmt.Errorf("connection closed before welcome (close code %d)", code)
	}
	return fmt.Errorf("waiting for welcome: %w", ctx.Err())
}

// Act asks the Behaviour for the next input and sends it, then, for a
// [Messenger], the game messages it asks for. It does nothing before
// Welcome, after MatchEnd and once the connection has closed.
func (c *Client) Act(now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.active() {
		return nil
	}
	err := c.sendInputLocked(c.behaviour.Next(&c.mirror, now))
	if mb, ok := c.behaviour.(Messenger); ok {
		for _, m := range mb.Messages(&c.mirror, now) {
			err = errors.Join(err, c.sendMessageLocked(m.Op, m.Data))
		}
	}
	return err
}

// SendInput sends one input, numbered with the next seq.
func (c *Client) SendInput(in Input) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.active() {
		return fmt.Errorf("send input: %w", net.ErrClosed)
	}
	return c.sendInputLocked(in)
}

// SendMessage sends a game message: an op code the game defines (from 1)
// and its bytes.
func (c *Client) SendMessage(op uint32, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.active() {
		return fmt.Errorf("send message: %w", net.ErrClosed)
	}
	return c.sendMessageLocked(op, data)
}

func (c *Client) sendMessageLocked(op uint32, data []byte) error {
	err := c.send(&tickwirev1.ClientFrame{Body: &tickwirev1.ClientFrame_Message{Message: &tickwirev1.GameMessage{Op: op, Data: data}}})
	if err != nil {
		return fmt.Errorf("send message %d: %w", op, err)
	}
	return nil
}

// SendChat sends a line of room chat.
func (c *Client) SendChat(text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.active() {
		return fmt.Errorf("send chat: %w", net.ErrClosed)
	}
	if err := c.send(&tickwirev1.ClientFrame{Body: &tickwirev1.ClientFrame_Chat{Chat: &tickwirev1.Chat{Text: text}}}); err != nil {
		return fmt.Errorf("send chat: %w", err)
	}
	c.stats.ChatSent++
	return nil
}

func (c *Client) active() bool {
	return c.welcomed && !c.closed && c.stats.MatchEnd == nil
}

func (c *Client) sendInputLocked(in Input) error {
	seq := c.seq + 1
	var vals []uint64
	if sch := c.mirror.Schema(); sch != nil {
		vals = sch.Input.encodeInput(c.inputVals[:0], &in)
		c.inputVals = vals
	}
	if err := c.send(c.inputFrame.set(seq, vals)); err != nil {
		if errors.Is(err, ErrBackpressure) {
			c.stats.InputsDropped++
		}
		return fmt.Errorf("send input %d: %w", seq, err)
	}
	c.seq = seq
	c.stats.InputsSent++
	return nil
}

// Ping sends a Ping; the Pong's round trip is recorded in Stats.RTT.
func (c *Client) Ping(now time.Time) error {
	err := c.send(&tickwirev1.ClientFrame{Body: &tickwirev1.ClientFrame_Ping{Ping: &tickwirev1.Ping{
		ClientTimeUs: uint64(now.UnixMicro()),
	}}})
	if err != nil {
		return fmt.Errorf("send ping: %w", err)
	}
	return nil
}

// Leave asks the server to end the session; it closes the connection with
// 1000 and [Client.Done] is closed then.
func (c *Client) Leave() error {
	if err := c.send(&tickwirev1.ClientFrame{Body: &tickwirev1.ClientFrame_Leave{Leave: &tickwirev1.Leave{}}}); err != nil {
		return fmt.Errorf("send leave: %w", err)
	}
	return nil
}

// Rejoin connects again and reclaims this client's seat with the resume token
// from its Welcome: after its connection dropped, or to take the seat over
// from a connection still open, which the server then closes with REPLACED.
// It returns a new Client for the same player, entity and score, with the
// same Config and Behaviour; its mirror starts from the full snapshot in the
// new Welcome, its input seq goes on from the last one the server applied,
// and its Stats start afresh. The server refuses a seat it no longer holds
// with RESUME_EXPIRED.
func (c *Client) Rejoin(ctx context.Context) (*Client, error) {
	c.mu.Lock()
	cfg := c.cfg
	cfg.ResumeToken = c.session.ResumeToken
	cfg.Behaviour = c.behaviour
	c.mu.Unlock()
	if cfg.ResumeToken == "" {
		return nil, errors.New("bots: rejoin: no resume token (not welcomed, or the server issued none)")
	}
	return Dial(ctx, cfg)
}

// Drop cuts the TCP connection at once, with no Leave and no close frame, as
// a network failure would; the server holds the seat for its rejoin grace.
// [Client.Done] is closed once the read loop has noticed.
func (c *Client) Drop() error {
	if c.raw == nil {
		return nil
	}
	if err := c.raw.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("drop: %w", err)
	}
	return nil
}

// Close sends close code 1000, after the frames already queued if the
// socket is full, and closes the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closedByClient = true
	c.mu.Unlock()
	if c.writer == nil {
		return nil
	}
	if err := c.writer.writeClose(wsframe.CloseNormal); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// Done is closed once the connection has closed.
func (c *Client) Done() <-chan struct{} { return c.done }

// Session returns what the server sent in Welcome.
func (c *Client) Session() Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// State returns a copy of the mirror: the room's state as this client last
// verified it (or, after an unresolved desync, as far as it got).
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mirror.State()
}

// Schema returns the room's schema from the Welcome, or nil before it.
func (c *Client) Schema() *Schema {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mirror.Schema()
}

// Synced reports whether the mirror is verified and accepting deltas.
func (c *Client) Synced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mirror.Synced()
}

// Stats returns a copy of the client's counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Latency = c.stats.Latency.Clone()
	s.RTT = c.stats.RTT.Clone()
	s.LastSentSeq = c.seq
	s.LastAckedSeq = c.mirror.LastInputSeq()
	s.TotalWireBytes = c.wire.Load()
	s.Closed = c.closed
	if se := c.stats.ServerError; se != nil {
		e := *se // the read loop fills in CloseCode later
		s.ServerError = &e
	}
	if c.measuring {
		s.Connected = time.Since(c.windowStart)
		s.WireBytes = c.wire.Load() - c.wireAtStart
		s.WindowTicks = c.windowTicks()
	} else if !c.windowStart.IsZero() {
		s.Connected = c.windowEnd.Sub(c.windowStart)
		s.WireBytes = c.wireAtEnd - c.wireAtStart
	}
	return s
}

// send writes one frame, or queues it while the socket is full (see
// wsWriter). It does not block over a plain TCP socket, so the read loop
// and the runner's ticker can call it; a frame that would queue behind
// maxPendingWrites others is refused with ErrBackpressure.
func (c *Client) send(f *tickwirev1.ClientFrame) error {
	if c.writer == nil {
		return net.ErrClosed
	}
	return c.writer.writeMessage(f)
}

// startWindow opens the measured window; c.mu must be held.
func (c *Client) startWindow(now time.Time) {
	c.measuring = true
	c.windowStart = now
	c.wireAtStart = c.wire.Load()
}

// endWindow closes the measured window; c.mu must be held.
func (c *Client) endWindow(now time.Time) {
	if !c.measuring {
		return
	}
	c.measuring = false
	c.windowEnd = now
	c.wireAtEnd = c.wire.Load()
	c.stats.Connected = c.windowEnd.Sub(c.windowStart)
	c.stats.WindowTicks = c.windowTicks()
}

// windowTicks is how many ticks the window's updates span; c.mu must be held.
func (c *Client) windowTicks() int64 {
	return int64(c.topTick - c.windowTick)
}

// stop ends the measured window so that frames arriving while the bot leaves
// are not counted.
func (c *Client) stop(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endWindow(now)
}

func (c *Client) recovered(r any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log.Error().Interface("panic", r).Msg("panic while handling a frame")
	c.desync(fmt.Errorf("panic: %v", r))
}

// clientSink adapts a Client to frameSink without adding its methods to
// Client's API. The read loop calls them.
type clientSink Client

func (s *clientSink) message(op byte, data []byte, shared *cachedFrame) {
	c := (*Client)(s)
	defer func() {
		if r := recover(); r != nil {
			c.recovered(r)
		}
	}()
	c.receive(gws.Opcode(op), data, time.Now(), shared)
}

func (s *clientSink) ping(payload []byte) {
	_ = (*Client)(s).writer.writePong(payload)
}

// readLoop is the client's read goroutine: it reads and handles frames
// until the connection ends, answers the server's close or closes with the
// reason it stopped, and records the end.
func (c *Client) readLoop() {
	err := c.reader.run()
	code := uint16(wsframe.CloseNormal)
	var pc *peerClose
	var we *wsError
	switch {
	case errors.As(err, &pc):
		code = pc.reply()
	case errors.As(err, &we):
		code = we.code
		c.log.Warn().Err(err).Msg("refusing the server's frames")
	}
	_ = c.writer.writeClose(code) // closes the socket; a no-op if it was
	c.closedWith(err, time.Now())
}

func (c *Client) closedWith(err error, now time.Time) {
	c.markClosed(err, now)
	close(c.done)
}

func (c *Client) markClosed(err error, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.welcomed && c.meter != nil {
		c.meter.connected.Add(-1)
	}
	c.stopPlaying()
	var ce *peerClose
	if errors.As(err, &ce) {
		c.stats.CloseCode = ce.code
		if c.stats.ServerError != nil && c.stats.ServerError.CloseCode == 0 {
			c.stats.ServerError.CloseCode = ce.code
		}
	}
	c.endWindow(now)
	ev := c.log.Debug().Uint16("close_code", c.stats.CloseCode).Bool("by_client", c.closedByClient)
	if ce == nil && !c.closedByClient {
		ev = c.log.Warn().Err(err)
	}
	ev.Msg("connection closed")
	if !c.joinSignalled {
		c.joinSignalled = true
		close(c.joinDone)
	}
}

func (c *Client) handleMessage(op gws.Opcode, data []byte, now time.Time) {
	c.receive(op, data, now, nil)
}

// receive handles one message from the server; shared, if not nil, is its
// frame-cache entry, data being its inflated bytes, decoded once for every
// bot of the process that received the same bytes.
//
// Hot path: every message of every bot.
func (c *Client) receive(op gws.Opcode, data []byte, now time.Time, shared *cachedFrame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.FramesReceived++
	if c.measuring {
		c.stats.PayloadBytes += int64(len(data))
	}
	if op != gws.OpcodeBinary {
		c.badFrame("text frame")
		return
	}
	f, err := decodeFrame(data, shared)
	if err != nil {
		c.badFrame(err.Error())
		return
	}
	c.handleFrame(f, now, shared)
}

// decodeFrame decodes data, or returns the frame shared (whose inflated
// bytes are data) decoded to.
func decodeFrame(data []byte, shared *cachedFrame) (*tickwirev1.ServerFrame, error) {
	if shared != nil {
		return shared.decoded()
	}
	var f tickwirev1.ServerFrame
	if err := proto.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// handleFrame applies one server frame, which is shared's decoded frame
// (read only) unless shared is nil; c.mu must be held.
func (c *Client) handleFrame(f *tickwirev1.ServerFrame, now time.Time, shared *cachedFrame) {
	switch body := f.GetBody().(type) {
	case *tickwirev1.ServerFrame_Welcome:
		c.onWelcome(body.Welcome, now)
	case *tickwirev1.ServerFrame_Delta:
		c.onDelta(body.Delta, now, shared)
	case *tickwirev1.ServerFrame_Snapshot:
		c.onSnapshot(body.Snapshot, now, shared)
	case *tickwirev1.ServerFrame_Events:
		for _, m := range body.Events.GetMessages() {
			c.stats.Events++
			if c.cfg.OnEvent != nil {
				data := m.GetData()
				if shared != nil { // the callback may keep or change its own copy
					data = bytes.Clone(data)
				}
				c.cfg.OnEvent(body.Events.GetTick(), m.GetOp(), data)
			}
		}
		for _, l := range body.Events.GetChat() {
			c.stats.ChatReceived++
			if c.cfg.OnChat != nil {
				c.cfg.OnChat(body.Events.GetTick(), l.GetPlayerId(), l.GetName(), l.GetText())
			}
		}
	case *tickwirev1.ServerFrame_Pong:
		sent := int64(body.Pong.GetClientTimeUs())
		c.stats.RTT.Record(time.Duration(now.UnixMicro()-sent) * time.Microsecond)
	case *tickwirev1.ServerFrame_Error:
		c.onError(body.Error)
	case *tickwirev1.ServerFrame_MatchEnd:
		c.onMatchEnd(body.MatchEnd, now)
	default:
		c.badFrame("empty server frame")
	}
}

func (c *Client) badFrame(why string) {
	c.stats.BadFrames++
	c.log.Warn().Str("reason", why).Msg("bad frame from server")
}

func (c *Client) onWelcome(w *tickwirev1.Welcome, now time.Time) {
	if c.welcomed {
		c.badFrame("second welcome")
		return
	}
	c.welcomed = true
	c.session = Session{
		PlayerID:    w.GetPlayerId(),
		EntityID:    w.GetEntityId(),
		RoomID:      w.GetRoomId(),
		TickRate:    w.GetTickRate(),
		Tick0:       time.UnixMicro(w.GetTick0UnixUs()),
		ServerTime:  time.UnixMicro(w.GetServerTimeUs()),
		Match:       w.GetMatch(),
		ResumeToken: w.GetResumeToken(),
		Resumed:     w.GetResumed(),
		Spectator:   w.GetSpectator(),
	}
	if w.GetResumed() { // the seat has had inputs applied: number on from there
		c.seq = max(c.seq, w.GetSnapshot().GetLastInputSeq())
	}
	c.tick0Us = w.GetTick0UnixUs()
	c.stats.PlayerID, c.stats.TickRate = w.GetPlayerId(), w.GetTickRate()
	if c.meter != nil {
		c.meter.connected.Add(1)
		c.meter.playing.Add(1)
		c.playing = true
	}
	c.stats.JoinTime = now.Sub(c.joinStart)
	if sch, err := NewSchema(w.GetSchema()); err != nil {
		c.badFrame("welcome: " + err.Error()) // the snapshot below fails too: no schema to read it by
	} else {
		c.mirror.SetSchema(sch)
	}
	c.mirror.SetSelf(w.GetPlayerId(), w.GetEntityId())
	c.startWindow(now)
	c.lastUpdateTick = w.GetSnapshot().GetTick()
	c.windowTick, c.topTick = c.lastUpdateTick, c.lastUpdateTick
	if err := c.mirror.ApplySnapshot(w.GetSnapshot()); err != nil {
		c.desync(fmt.Errorf("welcome: %w", err))
	}
	c.log.Debug().Uint32("player", w.GetPlayerId()).Uint32("entity", w.GetEntityId()).Uint32("tick_rate", w.GetTickRate()).
		Uint64("tick", c.mirror.Tick()).Dur("join_time", c.stats.JoinTime).Msg("joined")
	if !c.joinSignalled {
		c.joinSignalled = true
		close(c.joinDone)
	}
}

func (c *Client) onDelta(d *tickwirev1.Delta, now time.Time, shared *cachedFrame) {
	if !c.welcomed {
		c.badFrame("delta before welcome")
		return
	}
	c.recordLatency(d.GetTick(), now)
	if c.awaitingSnapshot {
		c.stats.DeltasIgnored++
		c.ignoredInResync++
		// A ResyncRequest is never lost over TCP, but a server may drop it
		// under load; ask again after about two seconds of deltas.
		if c.ignoredInResync >= 2*max(int(c.session.TickRate), 10) {
			c.requestResync()
		}
		return
	}
	if err := c.mirror.applyDeltaFrom(d, shared); err != nil {
		c.desync(err)
		return
	}
	c.stats.Deltas++
	c.applied(d.GetTick())
}

func (c *Client) onSnapshot(s *tickwirev1.Snapshot, now time.Time, shared *cachedFrame) {
	if !c.welcomed {
		c.badFrame("snapshot before welcome")
		return
	}
	c.recordLatency(s.GetTick(), now)
	if err := c.mirror.applySnapshotFrom(s, shared); err != nil {
		c.desync(err)
		return
	}
	c.awaitingSnapshot = false
	c.stats.Snapshots++
	c.applied(s.GetTick())
}

// stopPlaying takes the client out of meter.playing once its match has ended
// or its connection closed; c.mu must be held.
func (c *Client) stopPlaying() {
	if c.playing {
		c.playing = false
		c.meter.playing.Add(-1)
	}
}

// applied counts an update that moved the mirror to tick.
func (c *Client) applied(tick uint64) {
	if c.meter != nil {
		c.meter.updates.Add(1)
	}
	if c.measuring && tick > c.topTick {
		c.stats.Updates++
		if tick > c.topTick+1 {
			c.stats.FramesMissed += int64(tick - c.topTick - 1)
		}
	}
	c.lastUpdateTick = tick
	c.topTick = max(c.topTick, tick)
}

// recordLatency records the latency of an update for tick, in the live meter
// always and in Stats within the window.
func (c *Client) recordLatency(tick uint64, now time.Time) {
	rate := uint64(c.session.TickRate)
	if rate == 0 || (!c.measuring && c.meter == nil) {
		return
	}
	scheduledUs := c.tick0Us + int64(tick/rate*1e6+tick%rate*1e6/rate)
	d := time.Duration(now.UnixMicro()-scheduledUs) * time.Microsecond
	if c.meter != nil {
		c.meter.recordLatency(d)
	}
	if c.measuring {
		c.stats.Latency.Record(d)
	}
}

// desync counts a divergence and asks for a snapshot.
func (c *Client) desync(err error) {
	c.stats.Desyncs++
	c.log.Warn().Err(err).Uint64("tick", c.lastUpdateTick).Msg("desync; requesting a snapshot")
	c.requestResync()
}

func (c *Client) requestResync() {
	c.awaitingSnapshot = true
	c.ignoredInResync = 0
	c.stats.Resyncs++
	err := c.send(&tickwirev1.ClientFrame{Body: &tickwirev1.ClientFrame_Resync{Resync: &tickwirev1.ResyncRequest{
		LastTick: c.lastUpdateTick,
	}}})
	if err != nil {
		c.log.Warn().Err(err).Msg("send resync request")
	}
}

func (c *Client) onError(e *tickwirev1.Error) {
	c.stats.ServerError = &ServerError{Code: e.GetCode(), Message: e.GetMessage(), Reason: e.GetReason()}
	c.log.Warn().Stringer("code", e.GetCode()).Str("message", e.GetMessage()).Bool("joined", c.welcomed).
		Msg("server error")
	if !c.welcomed && !c.errSignalled {
		c.errSignalled = true
		close(c.errFrame)
	}
}

func (c *Client) onMatchEnd(me *tickwirev1.MatchEnd, now time.Time) {
	if c.stats.MatchEnd != nil {
		c.badFrame("second match end")
		return
	}
	r := &MatchResult{Tick: me.GetTick(), Reason: me.GetReason(), Detail: me.GetDetail(), Checksum: me.GetChecksum()}
	for _, s := range me.GetScores() {
		r.Scores = append(r.Scores, FinalScore{
			PlayerID: s.GetPlayerId(), Name: s.GetName(), Score: s.GetScore(), Rank: s.GetRank(),
		})
	}
	c.stats.MatchEnd = r
	c.stopPlaying()
	c.endWindow(now)
	if c.mirror.Synced() && c.mirror.Tick() == r.Tick {
		r.Verified = c.mirror.Checksum() == r.Checksum
		if !r.Verified {
			c.stats.Desyncs++
			c.log.Warn().Uint64("tick", r.Tick).Uint32("checksum", c.mirror.Checksum()).
				Uint32("server_checksum", r.Checksum).Msg("desync at match end")
		}
	}
	c.log.Debug().Stringer("reason", r.Reason).Uint64("tick", r.Tick).Bool("verified", r.Verified).Msg("match ended")
}

// countingConn counts the bytes read from a connection, for the client and
// for the runner's meter.
type countingConn struct {
	net.Conn
	n     *atomic.Int64
	meter *meter // or nil
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	if c.meter != nil {
		c.meter.wire.Add(int64(n))
	}
	return n, err
}

// gwsLogger routes gws's own error logs to zerolog.
type gwsLogger struct{ log zerolog.Logger }

func (l gwsLogger) Error(v ...any) {
	l.log.Error().Str("component", "gws").Msg(strings.TrimSpace(fmt.Sprint(v...)))
}
