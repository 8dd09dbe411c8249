package bots

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"sync"
	"time"
)

// Seat is where a bot plays: the node to connect to, the room and the join
// ticket, as the lobby hands them out.
type Seat struct {
	// URL is the node's ws base URL; empty means the runner's URL.
	URL    string
	RoomID string
	Ticket string
	// Player is the lobby player id the seat is for.
	Player string
	// QueueWait is how long matchmaking took, 0 when the seat was not queued for.
	QueueWait time.Duration
}

// Lobby is a client of a Tickwire lobby's public HTTP API: everything a game
// client needs to get a seat, and to read leaderboards.
type Lobby struct {
	base   string // http(s)://host:port
	http   *http.Client
	tokens func(player string) (string, error) // see SetTokens; nil sends none
}

// SetTokens makes every call carry 'Authorization: Bearer <token>' from f,
// for a lobby that verifies players (its --auth-* flags): f is asked on each
// call with the player the call acts for, or "" for one that names no player
// (creating a room, spectating). [HS256Tokens] mints them from the secret
// such a lobby verifies. Call it before the Lobby is used.
func (l *Lobby) SetTokens(f func(player string) (string, error)) { l.tokens = f }

// NewLobby returns a client for the lobby at base, given as the server's ws
// or http base URL.
func NewLobby(base string) (*Lobby, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("lobby url %q: want ws://host:port or http://host:port", base)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("lobby url %q: unsupported scheme %q", base, u.Scheme)
	}
	u.Path, u.RawQuery = "", ""
	// Keep as many connections to the lobby as the runner has joins in
	// flight: with http.DefaultTransport's two idle connections per host,
	// almost every seat request of a ramp-up opened a new TCP connection.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = defaultJoinConcurrency
	return &Lobby{base: u.String(), http: &http.Client{Timeout: 90 * time.Second, Transport: tr}}, nil
}

// CloseIdleConnections closes the kept-alive connections to the lobby that
// no request is using: the pool is sized for a ramp-up's seat requests, so a
// caller that is done with the lobby for a while hands them back.
func (l *Lobby) CloseIdleConnections() { l.http.CloseIdleConnections() }

// APIError is an error answer of the lobby: its HTTP status and stable code.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("lobby: %d %s: %s", e.Status, e.Code, e.Message)
}

// call sends one request on behalf of player ("" for none).
func (l *Lobby) call(ctx context.Context, method, path, player string, in, out any) error {
	return l.do(ctx, method, path, "", player, in, out)
}

// do is call with an Idempotency-Key, when key is set: it tells the request
// may be sent twice, so that net/http sends it again on a fresh connection
// when a kept-alive one turns out closed by the server.
func (l *Lobby) do(ctx context.Context, method, path, key, player string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if l.tokens != nil {
		tok, err := l.tokens(player)
		if err != nil {
			return fmt.Errorf("lobby %s %s: token for %q: %w", method, path, player, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := l.http.Do(req)
	if err != nil {
		return fmt.Errorf("lobby %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
		return &APIError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("lobby %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// Room is a room in the lobby's directory.
type Room struct {
	RoomID   string `json:"room_id"`
	Mode     string `json:"mode"`
	Node     string `json:"node"`
	Address  string `json:"address"`
	Capacity int    `json:"capacity"`
	Players  int    `json:"players"`
	State    string `json:"state"`
	Code     string `json:"code"`
}

// CreateRoom asks the lobby for a new room of a mode.
func (l *Lobby) CreateRoom(ctx context.Context, mode string, private bool) (Room, error) {
	var r Room
	err := l.call(ctx, http.MethodPost, "/v1/rooms", "", map[string]any{"mode": mode, "private": private}, &r)
	return r, err
}

type seatJSON struct {
	RoomID  string `json:"room_id"`
	Address string `json:"address"`
	Ticket  string `json:"join_ticket"`
}

// JoinRoom gets a seat in a public room.
func (l *Lobby) JoinRoom(ctx context.Context, roomID, player, name string) (Seat, error) {
	var s seatJSON
	// Asking again for the same player's seat gets the same seat.
	err := l.do(ctx, http.MethodPost, "/v1/rooms/"+url.PathEscape(roomID)+"/join", "seat:"+roomID+":"+player, player,
		map[string]string{"player_id": player, "name": name}, &s)
	return Seat{URL: s.Address, RoomID: s.RoomID, Ticket: s.Ticket, Player: player}, err
}

// Spectate gets a spectator ticket for a room: dial it with Config.Spectate.
func (l *Lobby) Spectate(ctx context.Context, roomID string) (Seat, error) {
	var s seatJSON
	err := l.call(ctx, http.MethodPost, "/v1/rooms/"+url.PathEscape(roomID)+"/spectate", "", map[string]string{}, &s)
	return Seat{URL: s.Address, RoomID: s.RoomID, Ticket: s.Ticket}, err
}

type ticketJSON struct {
	TicketID   string `json:"ticket_id"`
	Status     string `json:"status"`
	WaitedMs   int64  `json:"waited_ms"`
	Assignment *struct {
		RoomID      string            `json:"room_id"`
		Address     string            `json:"address"`
		JoinTickets map[string]string `json:"join_tickets"`
	} `json:"assignment"`
}

// Queue puts a player in matchmaking for a mode and long-polls until it is
// matched, then returns its seat. The ticket is cancelled if ctx ends first.
func (l *Lobby) Queue(ctx context.Context, mode, player, name string, rating float64) (Seat, error) {
	return l.QueueWith(ctx, QueueRequest{Mode: mode, Player: player, Name: name, Rating: rating})
}

// QueueRequest is one player's matchmaking request (POST
// /v1/matchmaking/tickets).
type QueueRequest struct {
	Mode, Player, Name string
	Rating             float64
	// Team and Attributes go, unread by the lobby, into the player's join
	// ticket for the game (PROTOCOL.md, "Ticket metadata"); the lobby
	// bounds them.
	Team       string
	Attributes map[string]string
}

// QueueWith is Queue for a request with everything a ticket may say.
func (l *Lobby) QueueWith(ctx context.Context, q QueueRequest) (Seat, error) {
	player := q.Player
	body := map[string]any{"player_id": q.Player, "name": q.Name, "mode": q.Mode, "rating": q.Rating}
	if q.Team != "" {
		body["team"] = q.Team
	}
	if len(q.Attributes) > 0 {
		body["attributes"] = q.Attributes
	}
	var t ticketJSON
	err := l.call(ctx, http.MethodPost, "/v1/matchmaking/tickets", player, body, &t)
	if err != nil {
		return Seat{}, err
	}
	for t.Status == "queued" {
		if err := l.call(ctx, http.MethodGet, "/v1/matchmaking/tickets/"+t.TicketID+"?wait=30s", player, nil, &t); err != nil {
			if ctx.Err() != nil {
				cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = l.call(cctx, http.MethodDelete, "/v1/matchmaking/tickets/"+t.TicketID, player, nil, nil)
				cancel()
			}
			return Seat{}, err
		}
	}
	if t.Status != "matched" || t.Assignment == nil || t.Assignment.JoinTickets[player] == "" {
		return Seat{}, fmt.Errorf("matchmaking ticket %s ended %s without a seat", t.TicketID, t.Status)
	}
	a := t.Assignment
	return Seat{URL: a.Address, RoomID: a.RoomID, Ticket: a.JoinTickets[player], Player: player,
		QueueWait: time.Duration(t.WaitedMs) * time.Millisecond}, nil
}

// Entry is a player's place on a leaderboard.
type Entry struct {
	Player string `json:"player_id"`
	Name   string `json:"name"`
	Score  int64  `json:"score"`
	Rank   int64  `json:"rank"`
}

// Rank reads a player's entry on a board's current season.
func (l *Lobby) Rank(ctx context.Context, board, player string) (Entry, error) {
	var e Entry
	err := l.call(ctx, http.MethodGet, "/v1/leaderboards/"+url.PathEscape(board)+"/players/"+url.PathEscape(player), player, nil, &e)
	return e, err
}

// RoomSeats seats the runner's bots through the lobby's room API: one new
// public room of mode per runner room, and a join ticket per bot. Player ids
// are <prefix>-<room>-<n>.
func RoomSeats(l *Lobby, mode, prefix string) func(ctx context.Context, room, n int, name string) (Seat, error) {
	var mu sync.Mutex
	rooms := map[int]*roomOnce{}
	return func(ctx context.Context, room, n int, name string) (Seat, error) {
		mu.Lock()
		ro := rooms[room]
		if ro == nil {
			ro = &roomOnce{}
			rooms[room] = ro
		}
		mu.Unlock()
		ro.once.Do(func() { ro.room, ro.err = l.CreateRoom(ctx, mode, false) })
		if ro.err != nil {
			return Seat{}, ro.err
		}
		return l.JoinRoom(ctx, ro.room.RoomID, fmt.Sprintf("%s-%d-%d", prefix, room, n), name)
	}
}

type roomOnce struct {
	once sync.Once
	room Room
	err  error
}

// MatchmakingSeats seats each bot by queueing it for mode; ratings spread
// around 1500 so the matcher's windows matter. Player ids are <prefix>-<k>.
func MatchmakingSeats(l *Lobby, mode, prefix string, playersPerRoom int) func(ctx context.Context, room, n int, name string) (Seat, error) {
	return func(ctx context.Context, room, n int, name string) (Seat, error) {
		k := room*playersPerRoom + n
		rating := 1500 + float64((k*37)%400) - 200
		return l.Queue(ctx, mode, fmt.Sprintf("%s-%d", prefix, k), name, rating)
	}
}

// CheckLeaderboard looks up every bot's final score on board and counts the
// bots whose entry does not show it yet, retrying until ctx ends. Bots that
// saw no match end are not checked. Player ids must be fresh for the run, so
// that a board keeping the best score holds exactly this match's score.
func CheckLeaderboard(ctx context.Context, l *Lobby, board string, clients []*Client) (checked, mismatches int) {
	for _, c := range clients {
		st := c.Stats()
		if st.MatchEnd == nil || st.Account == "" {
			continue
		}
		var final int64
		found := false
		for _, s := range st.MatchEnd.Scores {
			if s.PlayerID == st.PlayerID {
				final, found = s.Score, true
			}
		}
		if !found {
			continue
		}
		checked++
		if !waitForScore(ctx, l, board, st.Account, final) {
			mismatches++
		}
	}
	return checked, mismatches
}

func waitForScore(ctx context.Context, l *Lobby, board, player string, want int64) bool {
	for {
		e, err := l.Rank(ctx, board, player)
		if err == nil && e.Score == want {
			return true
		}
		var ae *APIError
		if err != nil && !errors.As(err, &ae) && ctx.Err() != nil {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
}
