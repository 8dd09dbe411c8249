package directory

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Directory in Redis, shared by several server processes.
//
// Keys, all under one hash tag so the scripts work on a Redis Cluster (the
// directory then lives in one slot):
//
//	{prefix}{dir}:room:<id>      the room (see record.go), with its index member
//	                             and a random generation; expires with the room
//	{prefix}{dir}:code:<CODE>    id of the room with the join code; expires with it
//	{prefix}{dir}:seats:<id>     hash: player -> when their seat in the room was
//	                             handed out; expires a grace after the last one
//	{prefix}{dir}:idx:all        sorted set of the members of all public rooms
//	{prefix}{dir}:idx:mode:<m>   ... of the public rooms of mode m
//	{prefix}{dir}:idx:mm:<b>     ... of the public rooms with Matchmade b (0 or 1)
//	{prefix}{dir}:idx:mm:<b>:mode:<m>
//	{prefix}{dir}:node:<id>      the node as JSON; expires with it
//	{prefix}{dir}:nodes          sorted set of node ids
//	{prefix}{dir}:sweep          where the next index sweep starts
//
// An index member is the room's List position, a space, "1" or "0" for
// Matchmade and the mode: every index entry is its List position, so List
// pages with ZRANGE BYLEX, and a member names all the indexes that hold it.
// All scores are 0. Indexes have no expiry: an entry whose room expired is
// removed when List meets it, or by the sweep that every 16th Create of a
// process runs over the next 64 entries of idx:all.
//
// A filtered List reads only the narrowest index for its mode and Matchmade,
// a batch at a time, and fetches the batch's rooms in one pipeline; State and
// HasSpace, which change as the room lives, are checked on the rooms read.
// Create, Assign, ReportRooms, Delete and index pruning are Lua scripts
// (EVALSHA), so each is atomic.
type Redis struct {
	// Now is the clock for the default CreatedAt and Seen and the grace of
	// List's HasSpace; nil means time.Now. Time to live runs on Redis's clock.
	// Set it before the first call.
	Now func() time.Time

	c       redis.UniversalClient
	prefix  string        // ends with the hash tag, e.g. "tickwire:{dir}:"
	grace   time.Duration // 0 means DefaultGrace
	creates atomic.Uint32 // Create calls of this value, to pace the sweep
}

// NewRedis returns a directory on c with keys under prefix ("" means
// DefaultPrefix) whose Free forgives a seat grace after it was handed out (0
// means DefaultGrace). It does not take ownership of c.
func NewRedis(c redis.UniversalClient, prefix string, grace time.Duration) *Redis {
	return &Redis{c: c, prefix: cmp.Or(prefix, DefaultPrefix) + "{dir}:", grace: grace}
}

var _ Directory = (*Redis)(nil)

// List and sweep bounds.
const (
	listBatch    = 256  // most index entries List reads in one round trip
	listMaxScan  = 1000 // index entries one List call reads before it returns a short page
	sweepCreates = 16   // Creates between sweeps
	sweepBatch   = 64   // index entries one sweep checks
)

func (d *Redis) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Redis) graceOr() time.Duration { return cmp.Or(d.grace, DefaultGrace) }

func (d *Redis) roomKey(id string) string           { return d.prefix + "room:" + id }
func (d *Redis) codeKey(code string) string         { return d.prefix + "code:" + code }
func (d *Redis) seatsKey(id string) string          { return d.prefix + "seats:" + id }
func (d *Redis) nodeKey(id string) string           { return d.prefix + "node:" + id }
func (d *Redis) nodesKey() string                   { return d.prefix + "nodes" }
func (d *Redis) sweepKey() string                   { return d.prefix + "sweep" }
func (d *Redis) allKey() string                     { return d.prefix + "idx:all" }
func (d *Redis) modeKey(mode string) string         { return d.prefix + "idx:mode:" + mode }
func (d *Redis) mmKey(mm bool) string               { return d.prefix + "idx:mm:" + flag(mm) }
func (d *Redis) mmModeKey(mm bool, m string) string { return d.mmKey(mm) + ":mode:" + m }

// indexKeys are the indexes of a public room.
func (d *Redis) indexKeys(mode string, mm bool) []string {
	return []string{d.allKey(), d.modeKey(mode), d.mmKey(mm), d.mmModeKey(mm, mode)}
}

// listKey is the narrowest index that holds every room f can select.
func (d *Redis) listKey(f Filter) string {
	switch {
	case f.Mode != "" && f.Matchmade != nil:
		return d.mmModeKey(*f.Matchmade, f.Mode)
	case f.Mode != "":
		return d.modeKey(f.Mode)
	case f.Matchmade != nil:
		return d.mmKey(*f.Matchmade)
	}
	return d.allKey()
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// member is a room's entry in the indexes.
func member(r *Room) string {
	return position(r.CreatedAt, r.ID) + " " + flag(r.Matchmade) + r.Mode
}

// parseMember splits an index member into List position, Matchmade and mode.
func parseMember(m string) (pos string, mm bool, mode string, ok bool) {
	i := strings.IndexByte(m, ' ')
	if i <= tsDigits || len(m) < i+3 {
		return "", false, "", false
	}
	return m[:i], m[i+1] == '1', m[i+2:], true
}

// createScript: KEYS room, [code], index...; ARGV ttl ms, "1" if there is a
// code, id, member, record. It returns 0, or 1 for a taken id, 2 for a taken
// code.
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
local first = 2
if ARGV[2] == '1' then
  if not redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[1]) then return 2 end
  first = 3
end
redis.call('SET', KEYS[1], ARGV[5], 'PX', ARGV[1])
for i = first, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[4]) end
return 0
`)

// assignScript: KEYS room, seats; ARGV at (Unix seconds), at's nanoseconds,
// grace ns, grace ms, then the players. It returns {1, free} when assigned,
// {0, free} for no space and {-1, 0} for a missing room. Pending follows
// Room.Pending; LastAssign is kept in seconds and nanoseconds so the
// elapsed time is exact in Lua's doubles, and so is each player's seat
// time in the seats hash ("seconds:nanoseconds"). The hash expires a grace
// after the last assign, when every seat in it is forgiven; a hash grown
// past twice the capacity is pruned of the forgiven seats.
var assignScript = redis.NewScript(luaPrelude + `
local s = redis.call('GET', KEYS[1])
if not s then return {-1, 0} end
local r = split(s)
local at_s, at_ns, grace = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local function held(v)
  if not v then return false end
  local c = string.find(v, ':', 1, true)
  return (at_s - tonumber(string.sub(v, 1, c - 1))) * 1e9 + (at_ns - tonumber(string.sub(v, c + 1))) < grace
end
local joined, assigned = tonumber(r[JOINED]), tonumber(r[ASSIGNED])
local pending = 0
if r[LA_S] ~= '' and assigned > joined then
  local elapsed = (at_s - tonumber(r[LA_S])) * 1e9 + (at_ns - tonumber(r[LA_NS]))
  if elapsed < grace then pending = assigned - joined end
end
local free = math.max(0, tonumber(r[CAP]) - tonumber(r[PLAYERS]) - pending)
local seats = 0
for i = 5, #ARGV do
  if not held(redis.call('HGET', KEYS[2], ARGV[i])) then seats = seats + 1 end
end
if seats > free then return {0, free} end
r[ASSIGNED], r[LA_S], r[LA_NS] = tostring(joined + pending + seats), ARGV[1], ARGV[2]
redis.call('SET', KEYS[1], join(r), 'KEEPTTL')
if redis.call('HLEN', KEYS[2]) > 2 * tonumber(r[CAP]) then
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    if not held(all[i + 1]) then redis.call('HDEL', KEYS[2], all[i]) end
  end
end
local stamp = ARGV[1] .. ':' .. ARGV[2]
for i = 5, #ARGV do redis.call('HSET', KEYS[2], ARGV[i], stamp) end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {1, free}
`)

// reportScript: KEYS room, [code]; ARGV generation, players, joined, state,
// ttl ms, id. It returns 1, or -1 if the room is gone or was replaced since
// the caller read its generation.
var reportScript = redis.NewScript(luaPrelude + `
local s = redis.call('GET', KEYS[1])
if not s then return -1 end
local r = split(s)
if r[GEN] ~= ARGV[1] then return -1 end
r[PLAYERS], r[JOINED], r[STATE] = ARGV[2], ARGV[3], ARGV[4]
redis.call('SET', KEYS[1], join(r), 'PX', ARGV[5])
if KEYS[2] and redis.call('GET', KEYS[2]) == ARGV[6] then redis.call('PEXPIRE', KEYS[2], ARGV[5]) end
return 1
`)

// deleteScript: KEYS room, [code], index...; ARGV generation, id, member,
// "1" if there is a code. It returns 1, or -1 if the room is gone or was
// replaced since the caller read its generation.
var deleteScript = redis.NewScript(luaPrelude + `
local s = redis.call('GET', KEYS[1])
if not s or split(s)[GEN] ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
local first = 2
if ARGV[4] == '1' then
  if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
  first = 3
end
for i = first, #KEYS do redis.call('ZREM', KEYS[i], ARGV[3]) end
return 1
`)

// pruneScript: KEYS room, index...; ARGV member. It removes the member from
// the indexes unless it is the live room's.
var pruneScript = redis.NewScript(luaPrelude + `
local s = redis.call('GET', KEYS[1])
if s and split(s)[MEMBER] == ARGV[1] then return 0 end
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
`)

// pruneNodeScript: KEYS node, nodes; ARGV id.
var pruneNodeScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
return redis.call('ZREM', KEYS[2], ARGV[1])
`)

var scripts = []*redis.Script{createScript, assignScript, reportScript, deleteScript, pruneScript, pruneNodeScript}

// pipeline sends fill's commands in one round trip and returns the first
// error of a command other than redis.Nil. If Redis lost the scripts
// (restart, SCRIPT FLUSH), it loads them and sends fill's commands again, so
// they must be safe to repeat.
func (d *Redis) pipeline(ctx context.Context, fill func(p redis.Pipeliner)) ([]redis.Cmder, error) {
	for attempt := 0; ; attempt++ {
		cmds, _ := d.c.Pipelined(ctx, func(p redis.Pipeliner) error { fill(p); return nil })
		noScript := false
		for _, c := range cmds {
			switch err := c.Err(); {
			case err == nil, errors.Is(err, redis.Nil):
			case redis.HasErrorPrefix(err, "NOSCRIPT") && attempt == 0:
				noScript = true
			default:
				return nil, err
			}
		}
		if !noScript {
			return cmds, nil
		}
		for _, s := range scripts {
			if err := s.Load(ctx, d.c).Err(); err != nil {
				return nil, fmt.Errorf("load scripts: %w", err)
			}
		}
	}
}

// Create implements Directory.
func (d *Redis) Create(ctx context.Context, r Room, ttl time.Duration) error {
	if err := prepare(&r, ttl, d.now()); err != nil {
		return fmt.Errorf("create room: %w", err)
	}
	mem := member(&r)
	keys := []string{d.roomKey(r.ID)}
	hasCode := r.Code != ""
	if hasCode {
		keys = append(keys, d.codeKey(r.Code))
	}
	if !r.Private {
		keys = append(keys, d.indexKeys(r.Mode, r.Matchmade)...)
	}
	args := []any{ttl.Milliseconds(), flag(hasCode), r.ID, mem, encodeRecord(&r, mem, newGen())}
	res, err := createScript.Run(ctx, d.c, keys, args...).Int()
	switch {
	case err != nil:
		return fmt.Errorf("create room %s: %w", r.ID, err)
	case res == 1:
		return fmt.Errorf("create room %s: %w", r.ID, ErrExists)
	case res == 2:
		return fmt.Errorf("create room %s: code %s: %w", r.ID, r.Code, ErrCodeTaken)
	}
	if d.creates.Add(1)%sweepCreates == 0 {
		// Best effort: an entry the sweep misses is met by a later one, or by List.
		_ = d.sweep(ctx)
	}
	return nil
}

// newGen returns a random generation that tells a room from an earlier one
// with the same id.
func newGen() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sweep prunes the next sweepBatch entries of idx:all whose rooms are gone,
// and moves the sweep position on, back to the start at the end.
func (d *Redis) sweep(ctx context.Context) error {
	start := "-"
	if from, err := d.c.Get(ctx, d.sweepKey()).Result(); err == nil && from != "" {
		start = "(" + from
	} else if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	members, err := d.c.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key: d.allKey(), Start: start, Stop: "+", ByLex: true, Count: sweepBatch,
	}).Result()
	if err != nil {
		return err
	}
	if err := d.prune(ctx, members); err != nil {
		return err
	}
	next := ""
	if len(members) == sweepBatch {
		next = members[len(members)-1]
	}
	return d.c.Set(ctx, d.sweepKey(), next, 0).Err()
}

// prune removes index members whose rooms are gone or were replaced.
func (d *Redis) prune(ctx context.Context, members []string) error {
	if len(members) == 0 {
		return nil
	}
	_, err := d.pipeline(ctx, func(p redis.Pipeliner) {
		for _, m := range members {
			pos, mm, mode, ok := parseMember(m)
			if !ok {
				continue
			}
			keys := append([]string{d.roomKey(pos[tsDigits:])}, d.indexKeys(mode, mm)...)
			pruneScript.EvalSha(ctx, p, keys, m)
		}
	})
	if err != nil {
		return fmt.Errorf("prune index: %w", err)
	}
	return nil
}

// Room implements Directory.
func (d *Redis) Room(ctx context.Context, id string) (Room, error) {
	if !validID(id) {
		return Room{}, fmt.Errorf("room: %w", invalid("room id %q", id))
	}
	s, err := d.c.Get(ctx, d.roomKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return Room{}, fmt.Errorf("room %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Room{}, fmt.Errorf("room %s: %w", id, err)
	}
	rec, err := decodeRecord(s)
	if err != nil {
		return Room{}, err
	}
	return rec.Room, nil
}

// RoomByCode implements Directory.
func (d *Redis) RoomByCode(ctx context.Context, code string) (Room, error) {
	if !validCode(code) {
		return Room{}, fmt.Errorf("room by code: %w", invalid("code %q", code))
	}
	code = upper(code)
	id, err := d.c.Get(ctx, d.codeKey(code)).Result()
	if errors.Is(err, redis.Nil) {
		return Room{}, fmt.Errorf("room with code %s: %w", code, ErrNotFound)
	}
	if err != nil {
		return Room{}, fmt.Errorf("room with code %s: %w", code, err)
	}
	r, err := d.Room(ctx, id)
	if err == nil && r.Code != code {
		err = ErrNotFound // the code outlived its room, which was replaced
	}
	if err != nil {
		return Room{}, fmt.Errorf("room with code %s: %w", code, err)
	}
	return r, nil
}

// List implements Directory. It is the lobby's hot path: one ZRANGE BYLEX on
// the narrowest index and one pipeline of GETs per batch. Without a State
// or HasSpace filter a batch is the page plus one entry, to tell whether
// another page follows; with one, twice that, and List reads batches until
// the page is full, the index ends or listMaxScan entries were read.
func (d *Redis) List(ctx context.Context, f Filter, cursor string, limit int) ([]Room, string, error) {
	if err := checkList(f, limit); err != nil {
		return nil, "", fmt.Errorf("list rooms: %w", err)
	}
	start := "-"
	if cursor != "" {
		after, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list rooms: cursor %q: %w", cursor, err)
		}
		// Every member of the room at after begins with after+" ", and every
		// later one sorts after after+"!", as ids hold no byte below '-'.
		start = "[" + after + "!"
	}
	batch := limit + 1
	if f.postFilter() {
		batch = min(2*limit+1, listBatch)
	}
	now, grace := d.now(), d.graceOr()
	key := d.listKey(f)
	var out []Room
	last := "" // position of the last entry looked at
	for scanned := 0; scanned < listMaxScan; {
		members, err := d.c.ZRangeArgs(ctx, redis.ZRangeArgs{
			Key: key, Start: start, Stop: "+", ByLex: true, Count: int64(batch),
		}).Result()
		if err != nil {
			return nil, "", fmt.Errorf("list rooms: %w", err)
		}
		rooms, stale, err := d.fetch(ctx, members)
		if err != nil {
			return nil, "", fmt.Errorf("list rooms: %w", err)
		}
		for i, m := range members {
			r := rooms[i]
			if r != nil && f.match(r, now, grace) {
				if len(out) == limit {
					if err := d.prune(ctx, stale); err != nil {
						return nil, "", fmt.Errorf("list rooms: %w", err)
					}
					return out, encodeCursor(last), nil
				}
				out = append(out, *r)
			}
			if pos, _, _, ok := parseMember(m); ok {
				last = pos
			}
		}
		if err := d.prune(ctx, stale); err != nil {
			return nil, "", fmt.Errorf("list rooms: %w", err)
		}
		if len(members) < batch {
			return out, "", nil
		}
		scanned += len(members)
		start = "(" + members[len(members)-1]
	}
	return out, encodeCursor(last), nil
}

// fetch reads the rooms of index members in one pipeline. A room is nil if
// it is gone or its member is not this one; those members are also in
// stale.
func (d *Redis) fetch(ctx context.Context, members []string) (rooms []*Room, stale []string, err error) {
	ids := make([]string, len(members))
	for i, m := range members {
		if pos, _, _, ok := parseMember(m); ok {
			ids[i] = pos[tsDigits:]
		}
	}
	recs, err := d.records(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	rooms = make([]*Room, len(members))
	for i, rec := range recs {
		switch {
		case ids[i] == "": // not ours: leave it alone
		case rec == nil || rec.member != members[i]:
			stale = append(stale, members[i])
		default:
			rooms[i] = &rec.Room
		}
	}
	return rooms, stale, nil
}

// records reads rooms in one pipeline; a gone room's record, or an empty
// id's, is nil.
func (d *Redis) records(ctx context.Context, ids []string) ([]*record, error) {
	cmds := make([]*redis.StringCmd, len(ids))
	if _, err := d.pipeline(ctx, func(p redis.Pipeliner) {
		for i, id := range ids {
			if id != "" {
				cmds[i] = p.Get(ctx, d.roomKey(id))
			}
		}
	}); err != nil {
		return nil, err
	}
	out := make([]*record, len(ids))
	for i, c := range cmds {
		if c == nil || c.Err() != nil {
			continue
		}
		rec, err := decodeRecord(c.Val())
		if err != nil {
			return nil, err
		}
		out[i] = &rec
	}
	return out, nil
}

// Assign implements Directory.
func (d *Redis) Assign(ctx context.Context, id string, players []string, at time.Time) error {
	players, err := checkAssign(id, players)
	if err != nil {
		return fmt.Errorf("assign seats: %w", err)
	}
	grace := d.graceOr()
	args := make([]any, 0, 4+len(players))
	args = append(args, at.Unix(), at.Nanosecond(), grace.Nanoseconds(), max(grace.Milliseconds(), 1))
	for _, p := range players {
		args = append(args, p)
	}
	res, err := assignScript.Run(ctx, d.c, []string{d.roomKey(id), d.seatsKey(id)}, args...).Int64Slice()
	switch {
	case err != nil:
		return fmt.Errorf("assign seats in room %s: %w", id, err)
	case len(res) != 2:
		return fmt.Errorf("assign seats in room %s: script returned %v", id, res)
	case res[0] == -1:
		return fmt.Errorf("assign seats in room %s: %w", id, ErrNotFound)
	case res[0] == 0:
		return fmt.Errorf("assign seats in room %s: %d free: %w", id, res[1], ErrNoSpace)
	}
	return nil
}

// deleteCmd queues the removal of the room read as rec.
func (d *Redis) deleteCmd(ctx context.Context, p redis.Pipeliner, rec *record) *redis.Cmd {
	keys := []string{d.roomKey(rec.ID)}
	if rec.Code != "" {
		keys = append(keys, d.codeKey(rec.Code))
	}
	if !rec.Private {
		keys = append(keys, d.indexKeys(rec.Mode, rec.Matchmade)...)
	}
	return deleteScript.EvalSha(ctx, p, keys, rec.gen, rec.ID, rec.member, flag(rec.Code != ""))
}

// casAttempts bounds the read-then-script rounds of ReportRooms and Delete,
// which repeat only when a room is replaced under them.
const casAttempts = 3

// ReportRooms implements Directory: one pipeline reads the reported rooms,
// another runs a script per room of the node, which checks the room
// is the one read.
func (d *Redis) ReportRooms(ctx context.Context, node string, reports []RoomReport, ttl time.Duration) error {
	if err := checkReports(node, reports, ttl); err != nil {
		return fmt.Errorf("report rooms: %w", err)
	}
	ms := ttl.Milliseconds()
	for attempt := 0; len(reports) > 0 && attempt < casAttempts; attempt++ {
		ids := make([]string, len(reports))
		for i, rep := range reports {
			ids[i] = rep.ID
		}
		recs, err := d.records(ctx, ids)
		if err != nil {
			return fmt.Errorf("report rooms of node %s: %w", node, err)
		}
		cmds := make([]*redis.Cmd, len(reports))
		if _, err := d.pipeline(ctx, func(p redis.Pipeliner) {
			for i, rep := range reports {
				rec := recs[i]
				switch {
				case rec == nil || rec.Node != node:
				case rep.State == Ended:
					cmds[i] = d.deleteCmd(ctx, p, rec)
				default:
					keys := []string{d.roomKey(rep.ID)}
					if rec.Code != "" {
						keys = append(keys, d.codeKey(rec.Code))
					}
					cmds[i] = reportScript.EvalSha(ctx, p, keys, rec.gen, rep.Players, rep.Joined, string(rep.State), ms, rep.ID)
				}
			}
		}); err != nil {
			return fmt.Errorf("report rooms of node %s: %w", node, err)
		}
		var again []RoomReport
		for i, c := range cmds {
			if c != nil && c.Val() == int64(-1) {
				again = append(again, reports[i])
			}
		}
		reports = again
	}
	return nil
}

// Delete implements Directory.
func (d *Redis) Delete(ctx context.Context, id string) error {
	if !validID(id) {
		return fmt.Errorf("delete room: %w", invalid("room id %q", id))
	}
	for range casAttempts {
		recs, err := d.records(ctx, []string{id})
		if err != nil {
			return fmt.Errorf("delete room %s: %w", id, err)
		}
		if recs[0] == nil {
			return fmt.Errorf("delete room %s: %w", id, ErrNotFound)
		}
		var c *redis.Cmd
		if _, err := d.pipeline(ctx, func(p redis.Pipeliner) { c = d.deleteCmd(ctx, p, recs[0]) }); err != nil {
			return fmt.Errorf("delete room %s: %w", id, err)
		}
		if c.Val() == int64(1) {
			return nil
		}
	}
	return fmt.Errorf("delete room %s: replaced %d times while deleting", id, casAttempts)
}

// Heartbeat implements Directory.
func (d *Redis) Heartbeat(ctx context.Context, n Node, ttl time.Duration) error {
	if err := checkNode(&n, ttl, d.now()); err != nil {
		return fmt.Errorf("node heartbeat: %w", err)
	}
	js, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("node heartbeat %s: %w", n.ID, err)
	}
	if _, err := d.pipeline(ctx, func(p redis.Pipeliner) {
		p.Set(ctx, d.nodeKey(n.ID), js, ttl)
		p.ZAdd(ctx, d.nodesKey(), redis.Z{Member: n.ID})
	}); err != nil {
		return fmt.Errorf("node heartbeat %s: %w", n.ID, err)
	}
	return nil
}

// Nodes implements Directory. Ids of expired nodes are pruned as met.
func (d *Redis) Nodes(ctx context.Context) ([]Node, error) {
	ids, err := d.c.ZRange(ctx, d.nodesKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(ids))
	if _, err := d.pipeline(ctx, func(p redis.Pipeliner) {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, d.nodeKey(id))
		}
	}); err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	out := make([]Node, 0, len(ids))
	var gone []string
	for i, c := range cmds {
		if c.Err() != nil {
			gone = append(gone, ids[i])
			continue
		}
		var n Node
		if err := json.Unmarshal([]byte(c.Val()), &n); err != nil {
			return nil, fmt.Errorf("list nodes: node %s: %w", ids[i], err)
		}
		out = append(out, n)
	}
	if len(gone) > 0 {
		if _, err := d.pipeline(ctx, func(p redis.Pipeliner) {
			for _, id := range gone {
				pruneNodeScript.EvalSha(ctx, p, []string{d.nodeKey(id), d.nodesKey()}, id)
			}
		}); err != nil {
			return nil, fmt.Errorf("list nodes: prune: %w", err)
		}
	}
	slices.SortFunc(out, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
