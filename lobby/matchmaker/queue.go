package matchmaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Errors a Queue returns, compared with errors.Is. Their texts are stable and
// may be shown to clients.
var (
	ErrNotFound      = errors.New("ticket not found")
	ErrDuplicate     = errors.New("ticket already exists")
	ErrPlayerQueued  = errors.New("player already has a queued ticket")
	ErrNotQueued     = errors.New("ticket is no longer queued")
	ErrInvalidTicket = errors.New("invalid ticket")
)

// Status is where a ticket is in its life. A ticket starts Queued and leaves it
// once, for one of the other three.
type Status int

// The statuses of a ticket. The zero Status is not valid.
const (
	Queued Status = iota + 1
	Matched
	Cancelled
	Expired
)

var statusNames = [...]string{Queued: "queued", Matched: "matched", Cancelled: "cancelled", Expired: "expired"}

func (s Status) String() string {
	if s >= Queued && s <= Expired {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText encodes s as its lower-case name, which is also how the Redis
// queue stores it.
func (s Status) MarshalText() ([]byte, error) {
	if s < Queued || s > Expired {
		return nil, fmt.Errorf("matchmaker: invalid status %d", int(s))
	}
	return []byte(statusNames[s]), nil
}

// UnmarshalText decodes a name written by MarshalText.
func (s *Status) UnmarshalText(b []byte) error {
	for i, name := range statusNames {
		if name != "" && name == string(b) {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("matchmaker: unknown status %q", b)
}

// Assignment tells the players of a matched group where to go.
type Assignment struct {
	RoomID string `json:"room_id"`
	// Node is the id of the node hosting the room.
	Node string `json:"node,omitempty"`
	// Address is the WebSocket base URL of that node, e.g. ws://127.0.0.1:7350.
	Address string `json:"address,omitempty"`
	// Tickets maps each member's player id to its signed join ticket. A Queue
	// stores on each ticket of a group only the join tickets of that ticket's
	// own members (see [Assignment.For]), so no player ever reads another
	// party's seat.
	Tickets  map[string]string `json:"tickets,omitempty"`
	Backfill bool              `json:"backfill,omitempty"`
}

func (a *Assignment) clone() *Assignment {
	if a == nil {
		return nil
	}
	c := *a
	if a.Tickets != nil {
		c.Tickets = make(map[string]string, len(a.Tickets))
		for k, v := range a.Tickets {
			c.Tickets[k] = v
		}
	}
	return &c
}

// For returns a copy of a with the join tickets of members only: what the
// holder of a ticket with those members may see.
func (a *Assignment) For(members []Member) *Assignment {
	if a == nil {
		return nil
	}
	c := *a
	c.Tickets = nil
	for _, m := range members {
		if tok, ok := a.Tickets[m.ID]; ok {
			if c.Tickets == nil {
				c.Tickets = make(map[string]string, len(members))
			}
			c.Tickets[m.ID] = tok
		}
	}
	return &c
}

// State is what a Queue knows of a ticket.
type State struct {
	Ticket     Ticket      `json:"ticket"`
	Status     Status      `json:"status"`
	Assignment *Assignment `json:"assignment,omitempty"` // set once Matched
	UpdatedAt  time.Time   `json:"updated_at"`
}

// DefaultRetain is how long a queue keeps a ticket that left Queued, so its
// client can still read the assignment.
const DefaultRetain = 10 * time.Minute

// Queue stores tickets and their states, shared by the API that adds and polls
// tickets and the Matcher that assigns them. [Memory] serves one process and
// [Redis] several; both pass the same conformance suite. All methods are safe
// for concurrent use.
type Queue interface {
	// Add queues t. It returns ErrInvalidTicket if t has no id, mode or
	// members, a member without an id or twice, or a non-finite rating;
	// ErrDuplicate if a ticket with t's id exists (queued or retained); and
	// ErrPlayerQueued if t's owner (Members[0]) owns a queued ticket, or any
	// other member is on a queued ticket.
	//
	// An owner who is only a party member of a queued ticket (named on
	// someone else's ticket) takes precedence over it: that ticket is
	// Cancelled in the same atomic step, as parties never split. So naming a
	// player in a party can never keep them from queueing on their own.
	Add(ctx context.Context, t Ticket) error
	// Get returns the state of a ticket, or ErrNotFound.
	Get(ctx context.Context, id string) (State, error)
	// Cancel takes a queued ticket out of the queue. It returns ErrNotFound,
	// or ErrNotQueued if the ticket is already matched, cancelled or expired.
	Cancel(ctx context.Context, id string) error
	// Queued returns the queued tickets of a mode, oldest first.
	Queued(ctx context.Context, mode string) ([]Ticket, error)
	// Modes returns the modes that have queued tickets.
	Modes(ctx context.Context) ([]string, error)
	// Assign marks every ticket of a group Matched with a, atomically: if any
	// of them is no longer queued, nothing changes and it returns an error
	// matching ErrNotQueued (or ErrNotFound). Each ticket stores a.For its
	// own members.
	Assign(ctx context.Context, ticketIDs []string, a Assignment) error
	// Expire marks those of the tickets that are still queued Expired, each on
	// its own, and returns how many it marked. Unknown ids are ignored.
	Expire(ctx context.Context, ticketIDs []string) (int, error)
	// Wait blocks until the ticket is no longer queued, ctx ends or timeout
	// passes (timeout <= 0: no limit but ctx), then returns its state: still
	// Queued after a timeout, with ctx.Err() if ctx ended. It is meant for
	// long-polling.
	Wait(ctx context.Context, id string, timeout time.Duration) (State, error)
	// Lock takes the lock name for owner for ttl, if it is free or already
	// owner's (which extends it). It returns false if another owner holds it.
	Lock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// Unlock releases the lock name if owner holds it, and does nothing if
	// not.
	Unlock(ctx context.Context, name, owner string) error
}

// prepare validates t and sets a zero CreatedAt to now.
func prepare(t *Ticket, now time.Time) error {
	switch {
	case t.ID == "":
		return fmt.Errorf("%w: no id", ErrInvalidTicket)
	case t.Mode == "":
		return fmt.Errorf("%w: no mode", ErrInvalidTicket)
	case len(t.Members) == 0:
		return fmt.Errorf("%w: no members", ErrInvalidTicket)
	case math.IsNaN(t.Rating) || math.IsInf(t.Rating, 0):
		return fmt.Errorf("%w: rating %v", ErrInvalidTicket, t.Rating)
	}
	for i, mem := range t.Members {
		if mem.ID == "" {
			return fmt.Errorf("%w: member %d has no id", ErrInvalidTicket, i)
		}
		for _, prev := range t.Members[:i] {
			if prev.ID == mem.ID {
				return fmt.Errorf("%w: member %s twice", ErrInvalidTicket, mem.ID)
			}
		}
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	t.CreatedAt = t.CreatedAt.Round(0) // no monotonic reading: stored and returned times compare equal
	t.Members = cloneMembers(t.Members)
	return nil
}
