package lobby

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tickwire/tickwire/lobby/matchmaker"
)

// Limits on what a matchmaking request says of each member for the game
// (metaJSON). They keep every join ticket under maxTicket; a request within
// them whose ticket would still not fit (long ids and names, values JSON
// must escape) is refused as a whole by checkTicketFits.
const (
	// MaxTeam is the longest team, in bytes.
	MaxTeam = 16
	// MaxAttributes is how many attributes one member may have.
	MaxAttributes = 8
	// MaxAttributeKey and MaxAttributeValue are the longest attribute key
	// and value, in bytes.
	MaxAttributeKey   = 16
	MaxAttributeValue = 24
)

// metaJSON is what a matchmaking request says of one member for the game:
// a team and game-defined attributes, carried into the member's join ticket
// and the game's JoinRequest, never read by the lobby.
type metaJSON struct {
	Team       string            `json:"team,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

var attributeKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// check applies the limits to player's metadata.
func (m metaJSON) check(player string) error {
	if err := checkMetaText(m.Team, MaxTeam); err != nil {
		return errf(http.StatusBadRequest, "bad_metadata", "player %s: team %v", player, err)
	}
	if len(m.Attributes) == 0 {
		return nil
	}
	if len(m.Attributes) > MaxAttributes {
		return errf(http.StatusBadRequest, "bad_metadata", "player %s: %d attributes; at most %d (MaxAttributes)", player, len(m.Attributes), MaxAttributes)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Attributes)) {
		switch {
		case len(k) > MaxAttributeKey:
			return errf(http.StatusBadRequest, "bad_metadata", "player %s: attribute key %.40q... is %d bytes; at most %d (MaxAttributeKey)", player, k, len(k), MaxAttributeKey)
		case !attributeKeyPattern.MatchString(k):
			return errf(http.StatusBadRequest, "bad_metadata", "player %s: attribute key %q: want 1 to %d of A-Z a-z 0-9 _ . -", player, k, MaxAttributeKey)
		}
		if err := checkMetaText(m.Attributes[k], MaxAttributeValue); err != nil {
			return errf(http.StatusBadRequest, "bad_metadata", "player %s: attribute %s: value %v", player, k, err)
		}
	}
	return nil
}

// checkMetaText refuses text over max bytes, not UTF-8, or with control
// characters (a game shows teams and attributes to players).
func checkMetaText(s string, limit int) error {
	switch {
	case len(s) > limit:
		return fmt.Errorf("is %d bytes; at most %d", len(s), limit)
	case !utf8.ValidString(s):
		return errors.New("is not valid UTF-8")
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return errors.New("has a control character")
	}
	return nil
}

// member is the queue's member for a checked request entry.
func (m metaJSON) member(id, name string) matchmaker.Member {
	mem := matchmaker.Member{ID: id, Name: name, Team: m.Team}
	if len(m.Attributes) > 0 {
		mem.Attributes = m.Attributes
	}
	return mem
}

// maxProbeNode is the node id length checkTicketFits measures a join ticket
// with when this node's own is shorter: the room a ticket is matched to may
// live on another node.
const maxProbeNode = 64

// checkTicketFits refuses a request if the join ticket of any member with
// metadata could come out longer than a node accepts (maxTicket): it signs
// each such member's ticket as the lobby will once matched, with ids of the
// lengths the lobby makes and a node id of at least maxProbeNode bytes.
func (l *Lobby) checkTicketFits(t matchmaker.Ticket) error {
	for _, m := range t.Members {
		if m.Team == "" && len(m.Attributes) == 0 {
			continue
		}
		c := Claims{ID: probeID, Player: m.ID, Name: m.Name, Room: probeRoom, Mode: t.Mode, Node: l.probeNode(),
			Expires: l.now().Add(l.cfg.TicketTTL).Unix(), Party: t.ID, Rating: t.Rating, Team: m.Team, Attributes: m.Attributes}
		if n := len(l.signer.Sign(c)); n > maxTicket {
			return errf(http.StatusBadRequest, "metadata_too_large",
				"player %s: with this team and these attributes the join ticket would be %d bytes, over the %d a node accepts: shorten them by %d bytes or more (JSON escapes count)",
				m.ID, n, maxTicket, (n-maxTicket)*3/4+1)
		}
	}
	return nil
}

// probeID and probeRoom are as long as the ids the lobby gives a join
// ticket (uuid.NewString) and a room (createRoom).
var (
	probeID   = strings.Repeat("0", 36)
	probeRoom = "r-" + strings.Repeat("0", 36)
)

// probeNode is this node's id, padded to maxProbeNode bytes.
func (l *Lobby) probeNode() string {
	node := l.cfg.NodeID
	if len(node) < maxProbeNode {
		node += strings.Repeat("n", maxProbeNode-len(node))
	}
	return node
}
