package lobby

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/tickwire/tickwire/internal/names"
	"github.com/tickwire/tickwire/lobby/directory"
	"github.com/tickwire/tickwire/lobby/leaderboard"
	"github.com/tickwire/tickwire/lobby/matchmaker"
)

// maxBody is the largest request body the API reads.
const maxBody = 64 << 10

// apiError is a client-facing error: an HTTP status, a stable code and a message.
type apiError struct {
	status  int
	code    string
	message string
	// retryAfter is the Retry-After of a 429; a 503 has retryAfter.
	retryAfter string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// Handler serves the lobby's HTTP JSON API under /v1.
func (l *Lobby) Handler() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, f func(*http.Request) (int, any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			// Not every ResponseWriter has deadlines (a recorder has none):
			// then the body is only size-bounded.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(l.cfg.BodyTimeout))
			ctx, cancel := context.WithTimeout(r.Context(), l.cfg.StoreTimeout)
			defer cancel()
			l.serve(w, r.WithContext(ctx), f)
		})
	}
	// A long-poll bounds its store calls itself, past its wait.
	mux.HandleFunc("GET /v1/matchmaking/tickets/{id}", func(w http.ResponseWriter, r *http.Request) { l.serve(w, r, l.getTicket) })
	h("POST /v1/matchmaking/tickets", l.createTicket)
	h("DELETE /v1/matchmaking/tickets/{id}", l.cancelTicket)
	h("POST /v1/matchmaking/consents", l.createConsent)
	mux.HandleFunc("GET /v1/matchmaking/tickets/{id}/events", l.ticketEvents)
	h("GET /v1/rooms", l.listRooms)
	h("POST /v1/rooms", l.createRoomAPI)
	h("GET /v1/rooms/{id}", l.getRoom)
	h("POST /v1/rooms/{id}/join", l.joinRoom)
	h("POST /v1/rooms/{id}/spectate", l.spectateRoom)
	h("POST /v1/rooms/join-by-code", l.joinByCode)
	h("POST /v1/tickets/verify", l.verifyTicket)
	h("GET /v1/modes", l.listModes)
	h("GET /v1/nodes", l.listNodes)
	h("GET /v1/leaderboards", l.listBoards)
	h("POST /v1/leaderboards", l.createBoard)
	h("GET /v1/leaderboards/{board}", l.getBoard)
	h("GET /v1/leaderboards/{board}/entries", l.topEntries)
	h("GET /v1/leaderboards/{board}/seasons", l.seasons)
	h("GET /v1/leaderboards/{board}/players/{player}", l.playerRank)
	h("GET /v1/leaderboards/{board}/players/{player}/around", l.around)
	h("POST /v1/leaderboards/{board}/scores", l.submitScore)
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errf(http.StatusNotFound, "not_found", "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return l.CORS(l.rateLimited(mux))
}

func (l *Lobby) serve(w http.ResponseWriter, r *http.Request, f func(*http.Request) (int, any, error)) {
	status, body, err := f(r)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = l.storeError(err)
		}
		if ae.status >= 500 && !errors.Is(err, ErrNoCapacity) { // a full cluster is no fault
			l.failLog.Error().Err(err).Str("path", r.URL.Path).Msg("lobby request failed")
		}
		writeError(w, ae)
		return
	}
	writeJSON(w, status, body)
}

// storeError maps a store's error to what the client is told.
func (l *Lobby) storeError(err error) *apiError {
	switch {
	case errors.Is(err, leaderboard.ErrUnknownBoard):
		return errf(http.StatusNotFound, "unknown_board", "%v", err)
	case errors.Is(err, leaderboard.ErrNotRanked):
		return errf(http.StatusNotFound, "not_ranked", "%v", err)
	case errors.Is(err, leaderboard.ErrBadCursor), errors.Is(err, directory.ErrBadCursor):
		return errf(http.StatusBadRequest, "bad_cursor", "%v", err)
	case errors.Is(err, leaderboard.ErrInvalid), errors.Is(err, directory.ErrInvalid):
		return errf(http.StatusBadRequest, "bad_request", "%v", err)
	case errors.Is(err, leaderboard.ErrBoardExists):
		return errf(http.StatusConflict, "board_exists", "%v", err)
	case errors.Is(err, directory.ErrNotFound), errors.Is(err, matchmaker.ErrNotFound):
		return errf(http.StatusNotFound, "not_found", "%v", err)
	case errors.Is(err, directory.ErrNoSpace):
		return errf(http.StatusConflict, "room_full", "%v", err)
	case errors.Is(err, matchmaker.ErrPlayerQueued):
		return errf(http.StatusConflict, "already_queued", "%v", err)
	case errors.Is(err, matchmaker.ErrDuplicate):
		return errf(http.StatusConflict, "duplicate_ticket", "%v", err)
	case errors.Is(err, matchmaker.ErrNotQueued):
		return errf(http.StatusConflict, "not_queued", "%v", err)
	case errors.Is(err, ErrNoCapacity):
		return errf(http.StatusServiceUnavailable, "no_capacity", "%v", err)
	case errors.Is(err, ErrNodeDraining):
		return errf(http.StatusServiceUnavailable, "node_draining", "%v", err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return errf(http.StatusServiceUnavailable, "store_unavailable", "the lobby store did not answer in time; retry shortly")
	}
	return errf(http.StatusServiceUnavailable, "store_unavailable", "the lobby store is unavailable; retry shortly")
}

// retryAfter is the Retry-After of a 503: a store outage is expected to be
// short, and the store client reconnects by itself.
const retryAfter = "1"

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if body != nil {
		_ = json.NewEncoder(w).Encode(body)
	}
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	switch {
	case e.retryAfter != "":
		w.Header().Set("Retry-After", e.retryAfter)
	case e.status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", retryAfter)
	}
	var b errorBody
	b.Error.Code, b.Error.Message = e.code, e.message
	writeJSON(w, e.status, b)
}

// decode reads one JSON object into v, refusing unknown fields, trailing data
// and bodies over maxBody.
func decode(r *http.Request, v any) error {
	body := http.MaxBytesReader(nil, r.Body, maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errf(http.StatusRequestEntityTooLarge, "body_too_large", "request body exceeds %d bytes", maxBody)
		}
		if errors.Is(err, io.EOF) {
			return errf(http.StatusBadRequest, "bad_json", "request body is empty; want a JSON object")
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return errf(http.StatusRequestTimeout, "body_timeout", "request body did not arrive in time")
		}
		return errf(http.StatusBadRequest, "bad_json", "request body is not valid JSON for this endpoint: %v", err)
	}
	if dec.More() {
		return errf(http.StatusBadRequest, "bad_json", "request body has data after the JSON object")
	}
	return nil
}

var playerIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:@-]{1,128}$`)

func checkPlayer(id, name string) (string, error) {
	if !playerIDPattern.MatchString(id) {
		return "", errf(http.StatusBadRequest, "bad_request", "player_id must be 1 to 128 of A-Z a-z 0-9 . _ : @ -")
	}
	if id == "." || id == ".." {
		// A path segment of its own would be cleaned away: the player's
		// /v1/leaderboards/{board}/players/{player} could never be read.
		return "", errf(http.StatusBadRequest, "bad_request", "player_id must not be %q", id)
	}
	name, err := names.Check(name)
	if err != nil {
		return "", errf(http.StatusBadRequest, "bad_name", "%v", err)
	}
	if name == "" {
		name = id[:min(len(id), names.Max)]
	}
	return name, nil
}

func (l *Lobby) mode(name string) (Mode, error) {
	m, ok := l.modes[name]
	if !ok {
		return Mode{}, errf(http.StatusNotFound, "unknown_mode", "no game mode %q; GET /v1/modes lists them", name)
	}
	return m, nil
}

// --- matchmaking ---

type memberJSON struct {
	PlayerID string `json:"player_id"`
	Name     string `json:"name"`
}

type ticketRequest struct {
	memberJSON
	metaJSON
	Mode   string            `json:"mode"`
	Rating float64           `json:"rating"`
	Party  []partyMemberJSON `json:"party"`
}

// partyMemberJSON is a party member on a ticket, with the consent the member
// asked for (createConsent) and handed to the ticket's owner.
type partyMemberJSON struct {
	memberJSON
	metaJSON
	Consent string `json:"consent"`
}

type ticketJSON struct {
	TicketID   string          `json:"ticket_id"`
	Status     string          `json:"status"`
	Mode       string          `json:"mode"`
	Players    []string        `json:"players"`
	CreatedAt  time.Time       `json:"created_at"`
	Assignment *assignmentJSON `json:"assignment,omitempty"`
	WaitedMs   int64           `json:"waited_ms"`
}

type assignmentJSON struct {
	RoomID      string            `json:"room_id"`
	Node        string            `json:"node"`
	Address     string            `json:"address"`
	Backfill    bool              `json:"backfill"`
	JoinTickets map[string]string `json:"join_tickets"`
}

func (l *Lobby) createTicket(r *http.Request) (int, any, error) {
	c, err := l.caller(r)
	if err != nil {
		return 0, nil, err
	}
	var req ticketRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := c.actFor(&req.memberJSON); err != nil {
		return 0, nil, err
	}
	m, err := l.mode(req.Mode)
	if err != nil {
		return 0, nil, err
	}
	if req.Rating != req.Rating || req.Rating < -1e6 || req.Rating > 1e6 { // NaN or absurd
		return 0, nil, errf(http.StatusBadRequest, "bad_request", "rating must be a number between -1e6 and 1e6")
	}
	members := make([]matchmaker.Member, 0, 1+len(req.Party))
	seen := map[string]bool{}
	for _, p := range append([]partyMemberJSON{{memberJSON: req.memberJSON, metaJSON: req.metaJSON}}, req.Party...) {
		name, err := checkPlayer(p.PlayerID, p.Name)
		if err != nil {
			return 0, nil, err
		}
		if err := p.check(p.PlayerID); err != nil {
			return 0, nil, err
		}
		if seen[p.PlayerID] {
			return 0, nil, errf(http.StatusBadRequest, "bad_request", "player %q appears twice in the ticket", p.PlayerID)
		}
		seen[p.PlayerID] = true
		members = append(members, p.member(p.PlayerID, name))
	}
	if len(members) > m.Size {
		return 0, nil, errf(http.StatusBadRequest, "party_too_large", "a party of %d cannot fit mode %s (%d seats)", len(members), m.Name, m.Size)
	}
	if err := l.checkConsents(req.PlayerID, req.Party); err != nil {
		return 0, nil, err
	}
	t := matchmaker.Ticket{ID: "t-" + uuid.NewString(), Mode: m.Name, Members: members, Rating: req.Rating, CreatedAt: l.now()}
	if err := l.checkTicketFits(t); err != nil {
		return 0, nil, err
	}
	if err := l.cfg.Queue.Add(r.Context(), t); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, ticketView(matchmaker.State{Ticket: t, Status: matchmaker.Queued, UpdatedAt: t.CreatedAt}, l.now()), nil
}

// checkConsents refuses a party unless every member consented to the
// leader's party: without it, anyone could queue a stranger and be handed
// the stranger's join ticket.
func (l *Lobby) checkConsents(leader string, party []partyMemberJSON) error {
	for _, p := range party {
		if p.Consent == "" {
			return errf(http.StatusForbidden, "consent_required",
				"party member %s gave no consent: they POST /v1/matchmaking/consents naming %s as leader and hand the consent over", p.PlayerID, leader)
		}
		if err := l.signer.VerifyConsent(p.Consent, p.PlayerID, leader, l.now()); err != nil {
			return errf(http.StatusForbidden, "consent_refused", "party member %s: %v", p.PlayerID, err)
		}
	}
	return nil
}

type consentRequest struct {
	PlayerID string `json:"player_id"`
	Leader   string `json:"leader"`
}

// createConsent issues a player's consent to be queued in a leader's party.
func (l *Lobby) createConsent(r *http.Request) (int, any, error) {
	c, err := l.caller(r)
	if err != nil {
		return 0, nil, err
	}
	var req consentRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	// With verified identity a player consents for itself only.
	self := memberJSON{PlayerID: req.PlayerID}
	if err := c.actFor(&self); err != nil {
		return 0, nil, err
	}
	req.PlayerID = self.PlayerID
	for _, id := range []string{req.PlayerID, req.Leader} {
		if _, err := checkPlayer(id, ""); err != nil {
			return 0, nil, err
		}
	}
	if req.PlayerID == req.Leader {
		return 0, nil, errf(http.StatusBadRequest, "bad_request", "a player needs no consent to their own ticket")
	}
	exp := l.now().Add(l.cfg.ConsentTTL).Unix()
	tok := l.signer.SignConsent(Consent{Player: req.PlayerID, Leader: req.Leader, Expires: exp})
	return http.StatusCreated, map[string]any{"consent": tok, "player_id": req.PlayerID, "leader": req.Leader, "expires_at": exp}, nil
}

func ticketView(s matchmaker.State, now time.Time) ticketJSON {
	v := ticketJSON{TicketID: s.Ticket.ID, Status: statusName(s.Status), Mode: s.Ticket.Mode, CreatedAt: s.Ticket.CreatedAt}
	for _, m := range s.Ticket.Members {
		v.Players = append(v.Players, m.ID)
	}
	end := now
	if s.Status != matchmaker.Queued {
		end = s.UpdatedAt
	}
	v.WaitedMs = end.Sub(s.Ticket.CreatedAt).Milliseconds()
	// The queues store each ticket's own join tickets only; filtering here
	// too keeps an assignment stored by an older version to its holder.
	if a := s.Assignment.For(s.Ticket.Members); a != nil {
		v.Assignment = &assignmentJSON{RoomID: a.RoomID, Node: a.Node, Address: a.Address, Backfill: a.Backfill, JoinTickets: a.Tickets}
		if v.Assignment.JoinTickets == nil {
			v.Assignment.JoinTickets = map[string]string{}
		}
	}
	return v
}

func statusName(s matchmaker.Status) string {
	switch s {
	case matchmaker.Queued:
		return "queued"
	case matchmaker.Matched:
		return "matched"
	case matchmaker.Cancelled:
		return "cancelled"
	case matchmaker.Expired:
		return "expired"
	}
	return "unknown"
}

// maxWait bounds a long-poll.
const maxWait = 60 * time.Second

func (l *Lobby) getTicket(r *http.Request) (int, any, error) {
	id := r.PathValue("id")
	wait, err := durationParam(r, "wait", 0, maxWait)
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait+l.cfg.StoreTimeout)
	defer cancel()
	var st matchmaker.State
	if wait > 0 {
		st, err = l.cfg.Queue.Wait(ctx, id, wait)
	} else {
		st, err = l.cfg.Queue.Get(ctx, id)
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, ticketView(st, l.now()), nil
}

func (l *Lobby) cancelTicket(r *http.Request) (int, any, error) {
	if err := l.cfg.Queue.Cancel(r.Context(), r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// ticketEvents streams a ticket's status as server-sent events until it leaves
// the queue.
func (l *Lobby) ticketEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), l.cfg.StoreTimeout)
	st, err := l.cfg.Queue.Get(ctx, id)
	cancel()
	if err != nil {
		writeError(w, l.storeError(err))
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, errf(http.StatusInternalServerError, "internal", "streaming unsupported"))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	for {
		b, _ := json.Marshal(ticketView(st, l.now()))
		fmt.Fprintf(w, "event: status\ndata: %s\n\n", b)
		fl.Flush()
		if st.Status != matchmaker.Queued {
			return
		}
		st, err = l.cfg.Queue.Wait(r.Context(), id, 15*time.Second)
		if err != nil {
			if r.Context().Err() == nil {
				fmt.Fprintf(w, "event: error\ndata: %q\n\n", l.storeError(err).message)
			}
			return
		}
	}
}

// --- rooms ---

type roomJSON struct {
	directory.Room
	Code string `json:"code,omitempty"`
}

type createRoomRequest struct {
	Mode    string `json:"mode"`
	Private bool   `json:"private"`
}

func (l *Lobby) createRoomAPI(r *http.Request) (int, any, error) {
	c, err := l.caller(r)
	if err != nil {
		return 0, nil, err
	}
	var who string
	if c.player != nil {
		who = c.player.id
	}
	if err := l.limitNewRoom(r, who); err != nil {
		return 0, nil, err
	}
	var req createRoomRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	m, err := l.mode(req.Mode)
	if err != nil {
		return 0, nil, err
	}
	room, err := l.createRoom(r.Context(), m, req.Private, false, 0, 0)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, roomJSON{Room: room, Code: room.Code}, nil
}

func (l *Lobby) getRoom(r *http.Request) (int, any, error) {
	room, err := l.cfg.Directory.Room(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	if room.Private {
		return 0, nil, errf(http.StatusNotFound, "not_found", "no room %q", r.PathValue("id"))
	}
	return http.StatusOK, room, nil
}

func (l *Lobby) listRooms(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	limit, err := intParam(r, "limit", 20, 1, 100)
	if err != nil {
		return 0, nil, err
	}
	f := directory.Filter{Mode: q.Get("mode"), State: directory.State(q.Get("state")), HasSpace: q.Get("has_space") == "true"}
	switch q.Get("matchmade") {
	case "true", "false":
		v := q.Get("matchmade") == "true"
		f.Matchmade = &v
	case "":
	default:
		return 0, nil, errf(http.StatusBadRequest, "bad_request", "matchmade must be true or false")
	}
	switch f.State {
	case "", "open", "waiting", "running", "ended":
	default:
		return 0, nil, errf(http.StatusBadRequest, "bad_request", "state must be open, waiting, running or ended")
	}
	rooms, next, err := l.cfg.Directory.List(r.Context(), f, q.Get("cursor"), limit)
	if err != nil {
		return 0, nil, err
	}
	if rooms == nil {
		rooms = []directory.Room{}
	}
	return http.StatusOK, map[string]any{"rooms": rooms, "next_cursor": next}, nil
}

func (l *Lobby) joinRoom(r *http.Request) (int, any, error) {
	c, err := l.caller(r)
	if err != nil {
		return 0, nil, err
	}
	var req memberJSON
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := c.actFor(&req); err != nil {
		return 0, nil, err
	}
	room, err := l.cfg.Directory.Room(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	if room.Private {
		return 0, nil, errf(http.StatusForbidden, "private_room", "room %s is private: join it by its code", room.ID)
	}
	return l.seatOne(r.Context(), room, req)
}

// spectateRoom issues a spectator ticket for a room: a join that takes no seat
// and sends no input. With identity on it needs a verified player or the API
// key, as any join does; a private room needs the API key (the operator's
// monitor), since its code is what lets players in. The body may be empty.
func (l *Lobby) spectateRoom(r *http.Request) (int, any, error) {
	c, err := l.caller(r)
	if err != nil {
		return 0, nil, err
	}
	room, err := l.cfg.Directory.Room(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	if room.Private && !c.backend {
		return 0, nil, errf(http.StatusForbidden, "private_room", "room %s is private: only the API key may watch it", room.ID)
	}
	if room.State == "ended" {
		return 0, nil, errf(http.StatusConflict, "match_ended", "room %s has ended", room.ID)
	}
	if err := l.checkNode(r.Context(), room.Node); err != nil {
		return 0, nil, err
	}
	viewer := ""
	if c.player != nil {
		viewer = c.player.id
	}
	exp := l.now().Add(l.cfg.TicketTTL).Unix()
	tok := l.signer.Sign(Claims{
		ID: uuid.NewString(), Player: viewer, Name: "spectator", Room: room.ID,
		Mode: room.Mode, Node: room.Node, Expires: exp, Spectate: true,
	})
	return http.StatusOK, Seat{RoomID: room.ID, Node: room.Node, Address: room.Address, Ticket: tok, Expires: exp}, nil
}

type codeRequest struct {
	memberJSON
	Code string `json:"code"`
}

func (l *Lobby) joinByCode(r *http.Request) (int, any, error) {
	if err := l.limitJoinCode(r); err != nil {
		return 0, nil, err
	}
	c, err := l.caller(r)
	if err != nil {
		return 0, nil, err
	}
	var req codeRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := c.actFor(&req.memberJSON); err != nil {
		return 0, nil, err
	}
	if req.Code == "" {
		return 0, nil, errf(http.StatusBadRequest, "bad_request", "code is required")
	}
	room, err := l.cfg.Directory.RoomByCode(r.Context(), req.Code)
	if err != nil {
		if errors.Is(err, directory.ErrNotFound) || errors.Is(err, directory.ErrInvalid) {
			return 0, nil, errf(http.StatusNotFound, "unknown_code", "no live room has code %q", req.Code)
		}
		return 0, nil, err
	}
	return l.seatOne(r.Context(), room, req.memberJSON)
}

func (l *Lobby) seatOne(ctx context.Context, room directory.Room, p memberJSON) (int, any, error) {
	name, err := checkPlayer(p.PlayerID, p.Name)
	if err != nil {
		return 0, nil, err
	}
	if room.State == "ended" {
		return 0, nil, errf(http.StatusConflict, "match_ended", "room %s has ended", room.ID)
	}
	if err := l.checkNode(ctx, room.Node); err != nil {
		return 0, nil, err
	}
	seats, err := l.seat(ctx, room, []matchmaker.Member{{ID: p.PlayerID, Name: name}}, false, nil)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, seats[p.PlayerID], nil
}

// verifyTicket checks a join ticket, for game servers and tools outside this
// process.
func (l *Lobby) verifyTicket(r *http.Request) (int, any, error) {
	var req struct {
		Ticket string `json:"join_ticket"`
	}
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	c, err := l.signer.Verify(req.Ticket, l.now())
	switch {
	case errors.Is(err, ErrTicketExpired):
		return 0, nil, errf(http.StatusUnauthorized, "ticket_expired", "%v", err)
	case errors.Is(err, ErrTicketForged):
		return 0, nil, errf(http.StatusUnauthorized, "ticket_forged", "%v", err)
	case err != nil:
		return 0, nil, errf(http.StatusBadRequest, "ticket_malformed", "%v", err)
	}
	return http.StatusOK, map[string]any{
		"player_id": c.Player, "name": c.Name, "room_id": c.Room, "mode": c.Mode, "node": c.Node, "expires_at": c.Expires,
	}, nil
}

func (l *Lobby) listModes(r *http.Request) (int, any, error) {
	type modeJSON struct {
		Name       string   `json:"name"`
		Size       int      `json:"size"`
		DurationS  float64  `json:"duration_s"`
		ScoreLimit int64    `json:"score_limit"`
		Game       string   `json:"game,omitempty"`
		Boards     []string `json:"leaderboards"`
	}
	out := []modeJSON{}
	for _, m := range l.cfg.Modes {
		v := modeJSON{Name: m.Name, Size: m.Size, DurationS: m.Duration.Seconds(), ScoreLimit: m.ScoreLimit, Game: m.Game}
		for _, b := range m.Boards() {
			v.Boards = append(v.Boards, b.ID)
		}
		out = append(out, v)
	}
	return http.StatusOK, map[string]any{"modes": out}, nil
}

func (l *Lobby) listNodes(r *http.Request) (int, any, error) {
	nodes, err := l.cfg.Directory.Nodes(r.Context())
	if err != nil {
		return 0, nil, err
	}
	if nodes == nil {
		nodes = []directory.Node{}
	}
	return http.StatusOK, map[string]any{"nodes": nodes}, nil
}

// --- leaderboards ---

type boardJSON struct {
	ID       string `json:"id"`
	Order    string `json:"order"`
	Operator string `json:"operator"`
	Reset    string `json:"reset,omitempty"`
}

func boardView(b leaderboard.Board) boardJSON {
	v := boardJSON{ID: b.ID, Order: "desc", Operator: "best", Reset: b.Reset}
	if b.Order == leaderboard.Ascending {
		v.Order = "asc"
	}
	switch b.Operator {
	case leaderboard.Set:
		v.Operator = "set"
	case leaderboard.Increment:
		v.Operator = "increment"
	}
	return v
}

func (l *Lobby) listBoards(r *http.Request) (int, any, error) {
	boards, err := l.cfg.Leaderboards.Boards(r.Context())
	if err != nil {
		return 0, nil, err
	}
	out := []boardJSON{}
	for _, b := range boards {
		out = append(out, boardView(b))
	}
	return http.StatusOK, map[string]any{"leaderboards": out}, nil
}

func (l *Lobby) getBoard(r *http.Request) (int, any, error) {
	b, err := l.cfg.Leaderboards.Board(r.Context(), r.PathValue("board"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, boardView(b), nil
}

// entryJSON is a leaderboard entry on the wire.
type entryJSON struct {
	Player    string    `json:"player_id"`
	Name      string    `json:"name"`
	Score     int64     `json:"score"`
	Rank      int64     `json:"rank"`
	UpdatedAt time.Time `json:"updated_at"`
}

func entryView(e leaderboard.Entry) entryJSON {
	return entryJSON{Player: e.Player, Name: e.Name, Score: e.Score, Rank: e.Rank, UpdatedAt: e.UpdatedAt}
}

func entriesView(es []leaderboard.Entry) []entryJSON {
	out := make([]entryJSON, len(es))
	for i, e := range es {
		out[i] = entryView(e)
	}
	return out
}

type seasonJSON struct {
	ID    string     `json:"id"`
	Start *time.Time `json:"start,omitempty"`
	End   *time.Time `json:"end,omitempty"`
}

// authorized checks the API key of a privileged request.
func (l *Lobby) authorized(r *http.Request) error {
	if l.cfg.APIKey == "" {
		return errf(http.StatusForbidden, "forbidden", "this server takes no API submissions: it has no API key configured")
	}
	if !l.backend(r) {
		return errf(http.StatusUnauthorized, "unauthorized", "a valid 'Authorization: Bearer <api key>' header is required")
	}
	return nil
}

func (l *Lobby) createBoard(r *http.Request) (int, any, error) {
	if err := l.authorized(r); err != nil {
		return 0, nil, err
	}
	var req boardJSON
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	b := leaderboard.Board{ID: req.ID, Reset: req.Reset}
	switch req.Order {
	case "", "desc":
	case "asc":
		b.Order = leaderboard.Ascending
	default:
		return 0, nil, errf(http.StatusBadRequest, "bad_request", "order must be desc or asc")
	}
	switch req.Operator {
	case "", "best":
	case "set":
		b.Operator = leaderboard.Set
	case "increment":
		b.Operator = leaderboard.Increment
	default:
		return 0, nil, errf(http.StatusBadRequest, "bad_request", "operator must be best, set or increment")
	}
	if err := l.cfg.Leaderboards.CreateBoard(r.Context(), b); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, boardView(b), nil
}

type scoreRequest struct {
	memberJSON
	Score int64 `json:"score"`
}

func (l *Lobby) submitScore(r *http.Request) (int, any, error) {
	if err := l.authorized(r); err != nil {
		return 0, nil, err
	}
	var req scoreRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	name, err := checkPlayer(req.PlayerID, req.Name)
	if err != nil {
		return 0, nil, err
	}
	e, err := l.cfg.Leaderboards.Submit(r.Context(), r.PathValue("board"), req.PlayerID, name, req.Score, l.now())
	if err != nil {
		l.stats.submitErrors.Add(1)
		return 0, nil, err
	}
	l.stats.submissions.Add(1)
	return http.StatusOK, entryView(e), nil
}

func (l *Lobby) topEntries(r *http.Request) (int, any, error) {
	limit, err := intParam(r, "limit", 20, 1, 1000)
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	entries, next, err := l.cfg.Leaderboards.Top(r.Context(), r.PathValue("board"), q.Get("season"), q.Get("cursor"), limit)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"entries": entriesView(entries), "next_cursor": next}, nil
}

func (l *Lobby) playerRank(r *http.Request) (int, any, error) {
	e, err := l.cfg.Leaderboards.Rank(r.Context(), r.PathValue("board"), r.URL.Query().Get("season"), r.PathValue("player"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, entryView(e), nil
}

func (l *Lobby) around(r *http.Request) (int, any, error) {
	n, err := intParam(r, "n", 5, 0, 100)
	if err != nil {
		return 0, nil, err
	}
	entries, err := l.cfg.Leaderboards.Around(r.Context(), r.PathValue("board"), r.URL.Query().Get("season"), r.PathValue("player"), n)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"entries": entriesView(entries)}, nil
}

func (l *Lobby) seasons(r *http.Request) (int, any, error) {
	seasons, err := l.cfg.Leaderboards.Seasons(r.Context(), r.PathValue("board"))
	if err != nil {
		return 0, nil, err
	}
	out := make([]seasonJSON, len(seasons))
	for i, s := range seasons {
		out[i] = seasonJSON{ID: s.ID}
		if !s.Start.IsZero() {
			out[i].Start = &seasons[i].Start
		}
		if !s.End.IsZero() {
			out[i].End = &seasons[i].End
		}
	}
	return http.StatusOK, map[string]any{"seasons": out}, nil
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, errf(http.StatusBadRequest, "bad_request", "%s must be a whole number from %d to %d", name, lo, hi)
	}
	return v, nil
}

func durationParam(r *http.Request, name string, def, hi time.Duration) (time.Duration, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > hi {
		return 0, errf(http.StatusBadRequest, "bad_request", "%s must be a duration like 30s, at most %v", name, hi)
	}
	return d, nil
}
