package matchmaker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Queue in Redis, shared by several server processes.
//
// Its keys share one hash tag, so that its scripts work on a Redis Cluster
// (where the matchmaker then lives in one slot):
//
//	<prefix>{mm}:t:<id>       hash: ticket (JSON), status, assignment (JSON), updated (unix ms);
//	                          expires Retain after the ticket leaves Queued
//	<prefix>{mm}:q:<mode>     sorted set of the queued ticket ids, scored by creation (unix ms)
//	<prefix>{mm}:modes        set of the modes with queued tickets
//	<prefix>{mm}:p:<player>   id of the player's queued ticket
//	<prefix>{mm}:lock:<name>  owner of a lock
//	<prefix>{mm}:left         pub/sub channel: ids of the tickets that leave Queued
//
// Add, Cancel, Assign, Expire, Lock and Unlock are Lua scripts run with
// EVALSHA, so each is atomic and takes one round trip. Wait does not poll: the
// first Wait subscribes to the "left" channel, and one goroutine wakes the
// waiters of each id published. A message published while that subscription
// reconnects is lost, so a waiter also re-reads its ticket every second.
type Redis struct {
	// Retain is how long a ticket that left Queued stays readable. Zero means
	// DefaultRetain. Set it before the first call.
	Retain time.Duration

	c      redis.UniversalClient
	prefix string // ends with the hash tag, e.g. "tickwire:{mm}:"

	subMu   sync.Mutex                            // guards sub and waiters
	sub     *redis.PubSub                         // the "left" subscription; nil until the first Wait, and after Close
	waiters map[string]map[chan struct{}]struct{} // ticket id -> channels of its Waits
}

// recheck is how often a Wait re-reads its ticket besides being woken.
const recheck = time.Second

// NewRedis returns a Queue on c with keys under prefix ("" means "tickwire:").
// It does not take ownership of c; Close only stops the Wait subscription.
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	return &Redis{c: c, prefix: cmp.Or(prefix, "tickwire:") + "{mm}:", waiters: make(map[string]map[chan struct{}]struct{})}
}

var _ Queue = (*Redis)(nil)

func (r *Redis) ticketKey(id string) string  { return r.prefix + "t:" + id }
func (r *Redis) queueKey(mode string) string { return r.prefix + "q:" + mode }
func (r *Redis) playerKey(id string) string  { return r.prefix + "p:" + id }
func (r *Redis) lockKey(name string) string  { return r.prefix + "lock:" + name }
func (r *Redis) modesKey() string            { return r.prefix + "modes" }
func (r *Redis) leftChannel() string         { return r.prefix + "left" }
func (r *Redis) retainMillis() int64         { return cmp.Or(r.Retain, DefaultRetain).Milliseconds() }

// addScript: KEYS ticket, queue, modes, player... (the owner's first); ARGV
// id, ticket JSON, score, mode, updated, retain ms, channel, key prefix,
// owner id. A queued ticket the owner is only a party member of is cancelled
// first, as leaveScript would; any other queued member refuses the ticket.
var addScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return {'duplicate'} end
local prefix = ARGV[8]
local party
for i = 4, #KEYS do
  local other = redis.call('GET', KEYS[i])
  if other then
    local js = redis.call('HGET', prefix .. 't:' .. other, 'ticket')
    if js then
      local t = cjson.decode(js)
      if i ~= 4 or t.members[1].id == ARGV[9] then return {'player', tostring(i - 3), other} end
      party = {id = other, ticket = t}
    end
  end
end
if party then
  local key = prefix .. 't:' .. party.id
  redis.call('HSET', key, 'status', 'cancelled', 'updated', ARGV[5])
  redis.call('PEXPIRE', key, ARGV[6])
  local q = prefix .. 'q:' .. party.ticket.mode
  redis.call('ZREM', q, party.id)
  if redis.call('ZCARD', q) == 0 then redis.call('SREM', KEYS[3], party.ticket.mode) end
  for _, m in ipairs(party.ticket.members) do
    local p = prefix .. 'p:' .. m.id
    if redis.call('GET', p) == party.id then redis.call('DEL', p) end
  end
  redis.call('PUBLISH', ARGV[7], party.id)
end
redis.call('HSET', KEYS[1], 'ticket', ARGV[2], 'status', 'queued', 'updated', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[4])
for i = 4, #KEYS do redis.call('SET', KEYS[i], ARGV[1]) end
return {'ok'}
`)

// leaveScript moves tickets out of Queued. KEYS: modes, then the tickets'
// hashes. ARGV: status, assignment JSON or "", updated, retain ms, "1" for
// all-or-nothing, channel, key prefix, then the ticket ids. It returns
// {'ok', n left} or, when all or nothing, {'notfound'|'notqueued', id, status}.
// It derives the mode's queue and the players' keys from the stored ticket,
// saving the caller a read; they share the hash tag of the declared keys.
// Each ticket stores the assignment with its own members' join tickets only
// (Assignment.For).
var leaveScript = redis.NewScript(`
local status, asg, updated, retain, all, channel, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1', ARGV[6], ARGV[7]
local shared
if asg ~= '' then shared = cjson.decode(asg) end
local ts = {}
for i = 2, #KEYS do
  local id = ARGV[6 + i]
  local h = redis.call('HMGET', KEYS[i], 'status', 'ticket')
  local s = h[1]
  if s == 'queued' then
    ts[#ts + 1] = {key = KEYS[i], id = id, ticket = h[2]}
  elseif all then
    if s then return {'notqueued', id, s} end
    return {'notfound', id}
  end
end
local emptied = {}
for _, t in ipairs(ts) do
  local ticket = cjson.decode(t.ticket)
  if shared then
    local own, every = {}, shared.tickets or {}
    for _, m in ipairs(ticket.members) do own[m.id] = every[m.id] end
    local a = {}
    for k, v in pairs(shared) do a[k] = v end
    a.tickets = own
    redis.call('HSET', t.key, 'status', status, 'updated', updated, 'assignment', cjson.encode(a))
  else
    redis.call('HSET', t.key, 'status', status, 'updated', updated)
  end
  redis.call('PEXPIRE', t.key, retain)
  redis.call('ZREM', prefix .. 'q:' .. ticket.mode, t.id)
  emptied[ticket.mode] = true
  for _, m in ipairs(ticket.members) do
    local p = prefix .. 'p:' .. m.id
    if redis.call('GET', p) == t.id then redis.call('DEL', p) end
  end
  redis.call('PUBLISH', channel, t.id)
end
for mode in pairs(emptied) do
  if redis.call('ZCARD', prefix .. 'q:' .. mode) == 0 then redis.call('SREM', KEYS[1], mode) end
end
return {'ok', #ts}
`)

// lockScript: KEYS lock; ARGV owner, ttl ms.
var lockScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// unlockScript: KEYS lock; ARGV owner.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`)

// Add implements Queue.
func (r *Redis) Add(ctx context.Context, t Ticket) error {
	now := time.Now()
	if err := prepare(&t, now); err != nil {
		return err
	}
	js, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("add ticket %s: %w", t.ID, err)
	}
	keys := make([]string, 3, 3+len(t.Members))
	keys[0], keys[1], keys[2] = r.ticketKey(t.ID), r.queueKey(t.Mode), r.modesKey()
	for _, m := range t.Members {
		keys = append(keys, r.playerKey(m.ID))
	}
	res, err := addScript.Run(ctx, r.c, keys, t.ID, js, t.CreatedAt.UnixMilli(), t.Mode, now.UnixMilli(),
		r.retainMillis(), r.leftChannel(), r.prefix, t.Members[0].ID).StringSlice()
	if err != nil {
		return fmt.Errorf("add ticket %s: %w", t.ID, err)
	}
	switch res[0] {
	case "ok":
		return nil
	case "duplicate":
		return fmt.Errorf("add ticket %s: %w", t.ID, ErrDuplicate)
	case "player":
		i, _ := strconv.Atoi(res[1])
		return fmt.Errorf("add ticket %s: player %s in ticket %s: %w", t.ID, t.Members[i-1].ID, res[2], ErrPlayerQueued)
	}
	return fmt.Errorf("add ticket %s: unexpected reply %q", t.ID, res)
}

// Get implements Queue.
func (r *Redis) Get(ctx context.Context, id string) (State, error) {
	h, err := r.c.HGetAll(ctx, r.ticketKey(id)).Result()
	if err != nil {
		return State{}, fmt.Errorf("get ticket %s: %w", id, err)
	}
	if len(h) == 0 {
		return State{}, fmt.Errorf("get ticket %s: %w", id, ErrNotFound)
	}
	s, err := decodeState(h)
	if err != nil {
		return State{}, fmt.Errorf("get ticket %s: %w", id, err)
	}
	return s, nil
}

func decodeState(h map[string]string) (State, error) {
	var s State
	if err := json.Unmarshal([]byte(h["ticket"]), &s.Ticket); err != nil {
		return s, fmt.Errorf("decode ticket: %w", err)
	}
	if err := s.Status.UnmarshalText([]byte(h["status"])); err != nil {
		return s, err
	}
	if a := h["assignment"]; a != "" {
		s.Assignment = new(Assignment)
		if err := json.Unmarshal([]byte(a), s.Assignment); err != nil {
			return s, fmt.Errorf("decode assignment: %w", err)
		}
	}
	ms, err := strconv.ParseInt(h["updated"], 10, 64)
	if err != nil {
		return s, fmt.Errorf("decode updated: %w", err)
	}
	s.UpdatedAt = time.UnixMilli(ms)
	return s, nil
}

// Cancel implements Queue.
func (r *Redis) Cancel(ctx context.Context, id string) error {
	if _, err := r.leave(ctx, []string{id}, Cancelled, "", true); err != nil {
		return fmt.Errorf("cancel: %w", err)
	}
	return nil
}

// Assign implements Queue.
func (r *Redis) Assign(ctx context.Context, ids []string, a Assignment) error {
	js, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	if _, err := r.leave(ctx, ids, Matched, string(js), true); err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	return nil
}

// Expire implements Queue.
func (r *Redis) Expire(ctx context.Context, ids []string) (int, error) {
	n, err := r.leave(ctx, ids, Expired, "", false)
	if err != nil {
		return 0, fmt.Errorf("expire: %w", err)
	}
	return n, nil
}

// leave runs leaveScript on ids.
func (r *Redis) leave(ctx context.Context, ids []string, s Status, asg string, all bool) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	allOrNothing := "0"
	if all {
		allOrNothing = "1"
	}
	keys := append(make([]string, 0, 1+len(ids)), r.modesKey())
	args := append(make([]any, 0, 7+len(ids)),
		s.String(), asg, time.Now().UnixMilli(), r.retainMillis(), allOrNothing, r.leftChannel(), r.prefix)
	for _, id := range ids {
		keys = append(keys, r.ticketKey(id))
		args = append(args, id)
	}
	res, err := leaveScript.Run(ctx, r.c, keys, args...).Slice()
	if err != nil {
		return 0, err
	}
	switch res[0] {
	case "ok":
		n, _ := res[1].(int64)
		return int(n), nil
	case "notfound":
		return 0, fmt.Errorf("ticket %v: %w", res[1], ErrNotFound)
	case "notqueued":
		return 0, fmt.Errorf("ticket %v (%v): %w", res[1], res[2], ErrNotQueued)
	}
	return 0, fmt.Errorf("unexpected reply %v", res)
}

// Queued implements Queue.
func (r *Redis) Queued(ctx context.Context, mode string) ([]Ticket, error) {
	ids, err := r.c.ZRange(ctx, r.queueKey(mode), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("queued %s: %w", mode, err)
	}
	out := make([]Ticket, 0, len(ids))
	const batch = 1000 // HGETs per pipeline
	for start := 0; start < len(ids); start += batch {
		cmds := make([]*redis.StringCmd, 0, batch)
		_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, id := range ids[start:min(start+batch, len(ids))] {
				cmds = append(cmds, p.HGet(ctx, r.ticketKey(id), "ticket"))
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("queued %s: %w", mode, err)
		}
		for _, cmd := range cmds {
			js, err := cmd.Bytes()
			if errors.Is(err, redis.Nil) {
				continue // gone since ZRANGE: expired, or pruned after it left the queue
			}
			if err != nil {
				return nil, fmt.Errorf("queued %s: %w", mode, err)
			}
			// A ticket that left the queue since ZRANGE is still listed;
			// Assign refuses it.
			out = append(out, Ticket{})
			if err := json.Unmarshal(js, &out[len(out)-1]); err != nil {
				return nil, fmt.Errorf("queued %s: decode ticket: %w", mode, err)
			}
		}
	}
	return out, nil
}

// Modes implements Queue.
func (r *Redis) Modes(ctx context.Context) ([]string, error) {
	modes, err := r.c.SMembers(ctx, r.modesKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("modes: %w", err)
	}
	return modes, nil
}

// Lock implements Queue.
func (r *Redis) Lock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	ok, err := lockScript.Run(ctx, r.c, []string{r.lockKey(name)}, owner, max(ttl.Milliseconds(), 1)).Int()
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	return ok == 1, nil
}

// Unlock implements Queue.
func (r *Redis) Unlock(ctx context.Context, name, owner string) error {
	if err := unlockScript.Run(ctx, r.c, []string{r.lockKey(name)}, owner).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("unlock %s: %w", name, err)
	}
	return nil
}

// Wait implements Queue.
func (r *Redis) Wait(ctx context.Context, id string, timeout time.Duration) (State, error) {
	woken, err := r.watch(ctx, id)
	if err != nil {
		return State{}, fmt.Errorf("wait ticket %s: %w", id, err)
	}
	defer r.unwatch(id, woken)
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	tick := time.NewTicker(recheck)
	defer tick.Stop()
	for {
		s, err := r.Get(ctx, id)
		if err != nil || s.Status != Queued {
			return s, err
		}
		select {
		case <-woken:
		case <-tick.C:
		case <-expired:
			return r.Get(ctx, id)
		case <-ctx.Done():
			return s, ctx.Err()
		}
	}
}

// watch registers a waiter for id, subscribing first if no one has.
func (r *Redis) watch(ctx context.Context, id string) (chan struct{}, error) {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	if r.sub == nil {
		sub := r.c.Subscribe(ctx, r.leftChannel())
		// Receive the confirmation, so no message published after watch
		// returns is missed.
		if _, err := sub.Receive(ctx); err != nil {
			_ = sub.Close()
			return nil, fmt.Errorf("subscribe: %w", err)
		}
		r.sub = sub
		go r.dispatch(sub.Channel())
	}
	woken := make(chan struct{}, 1)
	ws := r.waiters[id]
	if ws == nil {
		ws = make(map[chan struct{}]struct{})
		r.waiters[id] = ws
	}
	ws[woken] = struct{}{}
	return woken, nil
}

func (r *Redis) unwatch(id string, woken chan struct{}) {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	delete(r.waiters[id], woken)
	if len(r.waiters[id]) == 0 {
		delete(r.waiters, id)
	}
}

// dispatch wakes the waiters of each ticket id published, until the
// subscription is closed.
func (r *Redis) dispatch(msgs <-chan *redis.Message) {
	for msg := range msgs {
		r.subMu.Lock()
		for woken := range r.waiters[msg.Payload] {
			select {
			case woken <- struct{}{}:
			default:
			}
		}
		r.subMu.Unlock()
	}
}

// Close stops the subscription behind Wait; waits still running fall back
// to re-reading their ticket every second, and a later Wait subscribes again.
// It does not close the client.
func (r *Redis) Close() error {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	if r.sub == nil {
		return nil
	}
	err := r.sub.Close()
	r.sub = nil
	return err
}
