package netcode

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tickwire/tickwire/game"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// admission decides whether a join may take a new seat, or watch as a
// spectator (Join.spectate), and on what terms. It runs on the joining connection's read goroutine, after the join's
// version, room id and name are checked and before any room is created.
type admission interface {
	// admit returns the seat's terms, or the refusal the client is sent.
	admit(j *pb.Join, name string) (grant, *refusal)
}

// grant is what an admitted join gets: the lobby account it plays as (none
// for an open room), its display name, and the rules to create the room with
// (nil: the server's).
type grant struct {
	account, name string
	rules         *game.Rules
	party         string
	rating        float64
	team          string
	attributes    map[string]string
	// game is the game an open-room join named (Join.game): its room must
	// play it. Empty: any.
	game string
}

// refusal is a join turned away: an Error code and a message for the client.
type refusal struct {
	code pb.ErrorCode
	msg  string
}

// newAdmission builds the server's policy from cfg: joins with a ticket go to
// Config.Admit, joins without one to the open rooms if Config.OpenRooms is
// set, and are refused otherwise.
func newAdmission(cfg *Config, rooms *registry) admission {
	p := byTicket{withTicket: ticketAdmission{verify: cfg.Admit}, without: lobbyOnly{rooms: rooms}}
	if cfg.OpenRooms {
		p.without = newOpenRooms(cfg.Rules, cfg.OpenGames)
	}
	return p
}

// byTicket hands a join to one policy or the other by whether it carries a
// join ticket.
type byTicket struct{ withTicket, without admission }

func (p byTicket) admit(j *pb.Join, name string) (grant, *refusal) {
	if j.Ticket != "" {
		return p.withTicket.admit(j, name)
	}
	return p.without.admit(j, name)
}

// ticketAdmission takes joins whose lobby ticket verify accepts; with no
// verify, it takes none.
type ticketAdmission struct {
	verify func(ticket, roomID string) (Admission, error)
}

func (t ticketAdmission) admit(j *pb.Join, _ string) (grant, *refusal) {
	if t.verify == nil {
		return grant{}, &refusal{pb.ErrorCode_ERROR_CODE_UNAUTHORIZED, "this server does not take join tickets"}
	}
	adm, err := t.verify(j.Ticket, j.RoomId)
	if errors.Is(err, ErrRoomElsewhere) {
		return grant{}, &refusal{pb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND, err.Error()}
	}
	if err != nil {
		return grant{}, &refusal{pb.ErrorCode_ERROR_CODE_UNAUTHORIZED, "join ticket refused: " + err.Error()}
	}
	switch {
	case adm.Spectator && !j.Spectate:
		return grant{}, &refusal{pb.ErrorCode_ERROR_CODE_UNAUTHORIZED, "this is a spectator ticket: it takes no seat; join with spectate set to watch"}
	case !adm.Spectator && j.Spectate:
		return grant{}, &refusal{pb.ErrorCode_ERROR_CODE_UNAUTHORIZED, "this is a seat ticket: it cannot spectate; ask the lobby for a spectator ticket (POST /v1/rooms/{id}/spectate)"}
	}
	return grant{account: adm.Account, name: adm.Name, rules: &adm.Rules, party: adm.Party, rating: adm.Rating,
		team: adm.Team, attributes: adm.Attributes}, nil
}

// openRooms takes every join, into any room id, created on first join with
// the server's rules, or with those rules for the game the join names
// (Join.game): local play and tests. A spectator is let in too; the
// handshake then needs the room to exist, as a spectator never creates one.
type openRooms struct {
	// rules are the server's rules for each game a join may name, by name;
	// read-only.
	rules map[string]*game.Rules
	names string // the names, for the refusal
}

func newOpenRooms(def game.Rules, games []string) openRooms {
	o := openRooms{rules: map[string]*game.Rules{}}
	if def.Mode == "" {
		def.Mode = defaultMode
	}
	for _, name := range append([]string{def.Mode}, games...) {
		r := def
		r.Mode = name
		o.rules[name] = &r
	}
	names := slices.Sorted(maps.Keys(o.rules))
	o.names = strings.Join(names, ", ")
	return o
}

func (o openRooms) admit(j *pb.Join, name string) (grant, *refusal) {
	if j.Game == "" || j.Spectate {
		return grant{name: name}, nil
	}
	r := o.rules[j.Game]
	if r == nil {
		return grant{}, &refusal{pb.ErrorCode_ERROR_CODE_UNKNOWN_GAME,
			fmt.Sprintf("this server hosts no game %q for open rooms; it hosts %s", truncate(j.Game, 64), o.names)}
	}
	return grant{name: name, rules: r, game: j.Game}, nil
}

// defaultMode is the mode game.Rules take when they name none.
const defaultMode = "arena"

// truncate cuts s to at most n bytes, on a rune boundary, for a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// lobbyOnly refuses joins without a ticket, saying whether the room exists.
type lobbyOnly struct{ rooms *registry }

func (l lobbyOnly) admit(j *pb.Join, _ string) (grant, *refusal) {
	if l.rooms.get(j.RoomId) == nil {
		return grant{}, &refusal{pb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND, fmt.Sprintf("room %q does not exist", j.RoomId)}
	}
	if j.Spectate {
		return grant{}, &refusal{pb.ErrorCode_ERROR_CODE_UNAUTHORIZED, "a spectator ticket from the lobby (POST /v1/rooms/{id}/spectate) is required"}
	}
	return grant{}, &refusal{pb.ErrorCode_ERROR_CODE_UNAUTHORIZED, "a join ticket from the lobby is required"}
}
