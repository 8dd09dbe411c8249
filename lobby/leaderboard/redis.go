package leaderboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix starts every key of a RedisStore given no prefix.
const DefaultRedisPrefix = "tickwire:"

var _ Store = (*RedisStore)(nil)

// RedisStore is the Store on Redis 6.2 or newer, for servers that share
// boards. Its keys, all under its prefix, are:
//
//	boards                  hash: board id → JSON configuration
//	b:<board>:seasons       sorted set: season id scored by its start (Unix s)
//	b:<board>:s:<season>    sorted set: player scored by the board's sort key
//	b:<board>:s:<season>:names   hash: player → "<updated Unix ns>|<name>"
//
// The sort key is the score for Ascending boards and its negation for
// Descending ones, so the sets are always read lowest first and ties fall to
// the player id, ascending, as in BoltStore. Every operation is one Lua
// script, so operators are atomic on the server and a read sees one moment.
// Each script also checks the board's configuration is the one this store
// has cached; if another server deleted or re-created the board, the store
// looks it up again.
//
// Scripts touch the board list and a board's keys together; on Redis
// Cluster give a prefix with a hash tag ("{tickwire}:") so they share a slot.
type RedisStore struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
	closed atomic.Bool

	mu     sync.RWMutex           // guards boards
	boards map[string]*redisBoard // configurations seen, by id
}

type redisBoard struct {
	info   *boardInfo
	config string // as stored in the boards hash
}

// NewRedis returns a store using client, with keys under prefix
// (DefaultRedisPrefix if ""). The caller keeps ownership of client: Close
// does not close it.
func NewRedis(client redis.UniversalClient, prefix string) *RedisStore {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	return &RedisStore{client: client, prefix: prefix, now: time.Now, boards: make(map[string]*redisBoard)}
}

func (s *RedisStore) boardsKey() string              { return s.prefix + "boards" }
func (s *RedisStore) seasonsKey(board string) string { return s.prefix + "b:" + board + ":seasons" }
func (s *RedisStore) scoresKey(board, season string) string {
	return s.prefix + "b:" + board + ":s:" + season
}
func (s *RedisStore) namesKey(board, season string) string {
	return s.scoresKey(board, season) + ":names"
}

// Errors the scripts return.
const (
	errStale = "TWSTALE" // the board's configuration is not the one passed
	errRange = "TWRANGE" // an Increment would leave ±2^53
)

var createScript = redis.NewScript(`
-- KEYS[1] boards; ARGV[1] board id, ARGV[2] configuration.
-- Returns the board's configuration, which is ARGV[2] unless it existed.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then return cur end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return ARGV[2]
`)

var deleteScript = redis.NewScript(`
-- KEYS[1] boards, KEYS[2] the board's seasons; ARGV[1] board id,
-- ARGV[2] the prefix of its season keys. Returns 0 for an unknown board.
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
for _, season in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  redis.call('UNLINK', ARGV[2] .. season, ARGV[2] .. season .. ':names')
end
redis.call('UNLINK', KEYS[2])
return 1
`)

var submitScript = redis.NewScript(`
-- KEYS[1] boards, KEYS[2] scores, KEYS[3] names, KEYS[4] seasons.
-- ARGV[1] board id, ARGV[2] configuration, ARGV[3] operator, ARGV[4] player,
-- ARGV[5] sort key (or its delta), ARGV[6] names value, ARGV[7] season id,
-- ARGV[8] season start. Returns {sort key, 0-based rank}.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return redis.error_reply('TWSTALE')
end
local op, player = ARGV[3], ARGV[4]
if op == 'best' then
  redis.call('ZADD', KEYS[2], 'LT', ARGV[5], player)
elseif op == 'set' then
  redis.call('ZADD', KEYS[2], ARGV[5], player)
else
  local d = tonumber(ARGV[5])
  local cur = tonumber(redis.call('ZSCORE', KEYS[2], player) or '0')
  local lim = 9007199254740992
  -- lim - d and -lim - d are exact in a double; cur + d might not be.
  if (d > 0 and cur > lim - d) or (d < 0 and cur < -lim - d) then
    return redis.error_reply('TWRANGE')
  end
  redis.call('ZINCRBY', KEYS[2], ARGV[5], player)
end
redis.call('HSET', KEYS[3], player, ARGV[6])
redis.call('ZADD', KEYS[4], ARGV[8], ARGV[7])
return {redis.call('ZSCORE', KEYS[2], player), redis.call('ZRANK', KEYS[2], player)}
`)

var windowScript = redis.NewScript(`
-- KEYS[1] boards, KEYS[2] scores, KEYS[3] names.
-- ARGV[1] board id, ARGV[2] configuration, then either
-- ARGV[3] 'top', ARGV[4] first rank, ARGV[5] last rank (0-based), or
-- ARGV[3] 'around', ARGV[4] player, ARGV[5] n.
-- Returns {entries in the set, first rank, {player, key, ...}, {names value, ...}},
-- or {entries, -1} if the player of 'around' has no entry.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return redis.error_reply('TWSTALE')
end
local total = redis.call('ZCARD', KEYS[2])
local first, last
if ARGV[3] == 'around' then
  local r = redis.call('ZRANK', KEYS[2], ARGV[4])
  if not r then return {total, -1} end
  local n = tonumber(ARGV[5])
  first, last = math.max(0, r - n), r + n
else
  first, last = tonumber(ARGV[4]), tonumber(ARGV[5])
end
local items = redis.call('ZRANGE', KEYS[2], first, last, 'WITHSCORES')
if #items == 0 then return {total, first, {}, {}} end
local players = {}
for i = 1, #items, 2 do players[#players + 1] = items[i] end
return {total, first, items, redis.call('HMGET', KEYS[3], unpack(players))}
`)

var seasonsScript = redis.NewScript(`
-- KEYS[1] boards, KEYS[2] the board's seasons; ARGV[1] board id,
-- ARGV[2] configuration. Returns the ids of the seasons with scores.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return redis.error_reply('TWSTALE')
end
return redis.call('ZRANGE', KEYS[2], 0, -1)
`)

// open checks the store is usable for a call on board id.
func (s *RedisStore) open(ctx context.Context, id string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return checkBoardID(id)
}

// board returns a board's configuration, from the cache unless reload.
func (s *RedisStore) board(ctx context.Context, id string, reload bool) (*redisBoard, error) {
	if !reload {
		s.mu.RLock()
		b := s.boards[id]
		s.mu.RUnlock()
		if b != nil {
			return b, nil
		}
	}
	config, err := s.client.HGet(ctx, s.boardsKey(), id).Result()
	if errors.Is(err, redis.Nil) {
		s.mu.Lock()
		delete(s.boards, id)
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrUnknownBoard, id)
	}
	if err != nil {
		return nil, err
	}
	return s.remember(id, config)
}

// remember caches a board's stored configuration.
func (s *RedisStore) remember(id, config string) (*redisBoard, error) {
	info, err := parseBoard(id, []byte(config), s.now())
	if err != nil {
		return nil, err
	}
	b := &redisBoard{info: info, config: config}
	s.mu.Lock()
	if cur := s.boards[id]; cur != nil && cur.config == config {
		b = cur // keep the warm schedule cache
	} else {
		s.boards[id] = b
	}
	s.mu.Unlock()
	return b, nil
}

// withBoard runs fn, which runs a script that checks the configuration of
// the board it is given, and runs it again with a fresh configuration if
// the script found the cached one stale.
func (s *RedisStore) withBoard(ctx context.Context, id string, fn func(*redisBoard) error) error {
	if err := s.open(ctx, id); err != nil {
		return err
	}
	for attempt := range 3 {
		b, err := s.board(ctx, id, attempt > 0)
		if err != nil {
			return err
		}
		if err = fn(b); !redis.HasErrorPrefix(err, errStale) {
			return err
		}
	}
	return fmt.Errorf("%w: %s changed repeatedly", ErrUnknownBoard, id)
}

// CreateBoard implements Store.
func (s *RedisStore) CreateBoard(ctx context.Context, b Board) error {
	if err := s.createBoard(ctx, b); err != nil {
		return fmt.Errorf("create board %s: %w", b.ID, err)
	}
	return nil
}

func (s *RedisStore) createBoard(ctx context.Context, b Board) error {
	if err := s.open(ctx, b.ID); err != nil {
		return err
	}
	info, err := newBoardInfo(b, s.now())
	if err != nil {
		return err
	}
	config := string(info.config())
	got, err := createScript.Run(ctx, s.client, []string{s.boardsKey()}, b.ID, config).Text()
	if err != nil {
		return err
	}
	cur, err := s.remember(b.ID, got)
	if err != nil {
		return err
	}
	if cur.info.Board != b {
		return fmt.Errorf("%w: have %+v", ErrBoardExists, cur.info.Board)
	}
	return nil
}

// Board implements Store.
func (s *RedisStore) Board(ctx context.Context, id string) (Board, error) {
	if err := s.open(ctx, id); err != nil {
		return Board{}, fmt.Errorf("board %s: %w", id, err)
	}
	b, err := s.board(ctx, id, true)
	if err != nil {
		return Board{}, fmt.Errorf("board %s: %w", id, err)
	}
	return b.info.Board, nil
}

// Boards implements Store.
func (s *RedisStore) Boards(ctx context.Context) ([]Board, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	all, err := s.client.HGetAll(ctx, s.boardsKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list boards: %w", err)
	}
	out := make([]Board, 0, len(all))
	for id, config := range all {
		b, err := s.remember(id, config)
		if err != nil {
			return nil, fmt.Errorf("list boards: %w", err)
		}
		out = append(out, b.info.Board)
	}
	slices.SortFunc(out, func(a, b Board) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// DeleteBoard implements Store.
func (s *RedisStore) DeleteBoard(ctx context.Context, id string) error {
	if err := s.deleteBoard(ctx, id); err != nil {
		return fmt.Errorf("delete board %s: %w", id, err)
	}
	return nil
}

func (s *RedisStore) deleteBoard(ctx context.Context, id string) error {
	if err := s.open(ctx, id); err != nil {
		return err
	}
	n, err := deleteScript.Run(ctx, s.client, []string{s.boardsKey(), s.seasonsKey(id)},
		id, s.scoresKey(id, "")).Int()
	s.mu.Lock()
	delete(s.boards, id)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", ErrUnknownBoard, id)
	}
	return nil
}

// Submit implements Store: one script run (BenchmarkRedisSubmit).
func (s *RedisStore) Submit(ctx context.Context, board, player, name string, score int64, at time.Time) (Entry, error) {
	e, err := s.submit(ctx, board, player, name, score, at)
	if err != nil {
		return Entry{}, fmt.Errorf("submit to board %s: %w", board, err)
	}
	return e, nil
}

func (s *RedisStore) submit(ctx context.Context, board, player, name string, score int64, at time.Time) (Entry, error) {
	if err := checkSubmit(player, name, score); err != nil {
		return Entry{}, err
	}
	at, err := submitTime(at, s.now)
	if err != nil {
		return Entry{}, err
	}
	updated := at.UnixNano()
	names := strconv.FormatInt(updated, 10) + "|" + name
	var e Entry
	err = s.withBoard(ctx, board, func(b *redisBoard) error {
		season, err := b.info.seasonAt(at)
		if err != nil {
			return err
		}
		var start int64
		if season != AllSeason {
			t, _ := time.Parse(SeasonIDLayout, season)
			start = t.Unix()
		}
		// sortKey is linear, so it maps an Increment's delta too.
		keys := []string{s.boardsKey(), s.scoresKey(board, season), s.namesKey(board, season), s.seasonsKey(board)}
		res, err := submitScript.Run(ctx, s.client, keys, board, b.config, b.info.Operator.String(),
			player, b.info.sortKey(score), names, season, start).Slice()
		if redis.HasErrorPrefix(err, errRange) {
			return fmt.Errorf("%w: increment by %d leaves ±2^53", ErrInvalid, score)
		}
		if err != nil {
			return err
		}
		if len(res) != 2 {
			return fmt.Errorf("submit script: unexpected reply %v", res)
		}
		key, err := parseKey(res[0])
		if err != nil {
			return err
		}
		rank, ok := res[1].(int64)
		if !ok {
			return fmt.Errorf("submit script: unexpected rank %v", res[1])
		}
		e = b.info.entry(player, name, key, updated, rank+1)
		return nil
	})
	return e, err
}

// parseKey reads a sorted-set score, which holds an integer within ±2^53.
func parseKey(v any) (int64, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("score reply %v is not a string", v)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > MaxScore {
		return 0, fmt.Errorf("score reply %q is not an integer within ±2^53", s)
	}
	return int64(f), nil
}

// parseNames reads a names-hash value; a missing one reads as zero.
func parseNames(v any) (updated int64, name string) {
	s, _ := v.(string)
	ts, name, _ := strings.Cut(s, "|")
	updated, _ = strconv.ParseInt(ts, 10, 64)
	return updated, name
}

// window runs windowScript and returns the entries it read, and how many
// the season holds. missing reports that the player of an 'around' read
// has no entry.
func (s *RedisStore) window(ctx context.Context, b *redisBoard, season string, args ...any) (entries []Entry, total int64, missing bool, err error) {
	id := b.info.ID
	keys := []string{s.boardsKey(), s.scoresKey(id, season), s.namesKey(id, season)}
	res, err := windowScript.Run(ctx, s.client, keys, append([]any{id, b.config}, args...)...).Slice()
	if err != nil {
		return nil, 0, false, err
	}
	bad := fmt.Errorf("window script: unexpected reply %v", res)
	if len(res) < 2 {
		return nil, 0, false, bad
	}
	total, ok1 := res[0].(int64)
	first, ok2 := res[1].(int64)
	if !ok1 || !ok2 {
		return nil, 0, false, bad
	}
	if first < 0 {
		return nil, total, true, nil
	}
	if len(res) != 4 {
		return nil, 0, false, bad
	}
	items, ok1 := res[2].([]any)
	names, ok2 := res[3].([]any)
	if !ok1 || !ok2 || len(items) != 2*len(names) {
		return nil, 0, false, bad
	}
	for i := range names {
		player, ok := items[2*i].(string)
		key, err := parseKey(items[2*i+1])
		if !ok || err != nil {
			return nil, 0, false, bad
		}
		updated, name := parseNames(names[i])
		entries = append(entries, b.info.entry(player, name, key, updated, first+int64(i)+1))
	}
	return entries, total, false, nil
}

// Top implements Store.
func (s *RedisStore) Top(ctx context.Context, board, season, cursor string, limit int) ([]Entry, string, error) {
	var entries []Entry
	var next string
	err := s.withBoard(ctx, board, func(b *redisBoard) error {
		if err := checkLimit(limit); err != nil {
			return err
		}
		season, off, err := pageSeason(b.info, season, cursor)
		if err != nil {
			return err
		}
		if season, err = b.info.resolveSeason(season, s.now()); err != nil {
			return err
		}
		var total int64
		entries, total, _, err = s.window(ctx, b, season, "top", off, off+int64(limit)-1)
		if err != nil {
			return err
		}
		next = nextCursor(b.info, season, off, len(entries), total)
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("top of board %s: %w", board, err)
	}
	return entries, next, nil
}

// Rank implements Store: one script run (BenchmarkRedisRank).
func (s *RedisStore) Rank(ctx context.Context, board, season, player string) (Entry, error) {
	entries, err := s.around(ctx, board, season, player, 0)
	if err != nil {
		return Entry{}, fmt.Errorf("rank on board %s: %w", board, err)
	}
	return entries[0], nil
}

// Around implements Store.
func (s *RedisStore) Around(ctx context.Context, board, season, player string, n int) ([]Entry, error) {
	entries, err := s.around(ctx, board, season, player, n)
	if err != nil {
		return nil, fmt.Errorf("around on board %s: %w", board, err)
	}
	return entries, nil
}

func (s *RedisStore) around(ctx context.Context, board, season, player string, n int) ([]Entry, error) {
	var entries []Entry
	err := s.withBoard(ctx, board, func(b *redisBoard) error {
		if err := checkPlayer(player); err != nil {
			return err
		}
		if err := checkAround(n); err != nil {
			return err
		}
		season, err := b.info.resolveSeason(season, s.now())
		if err != nil {
			return err
		}
		var missing bool
		entries, _, missing, err = s.window(ctx, b, season, "around", player, n)
		if err == nil && (missing || len(entries) == 0) {
			err = notRanked(player, season)
		}
		return err
	})
	return entries, err
}

// Seasons implements Store.
func (s *RedisStore) Seasons(ctx context.Context, board string) ([]Season, error) {
	var out []Season
	err := s.withBoard(ctx, board, func(b *redisBoard) error {
		ids, err := seasonsScript.Run(ctx, s.client, []string{s.boardsKey(), s.seasonsKey(board)},
			board, b.config).StringSlice()
		if err != nil {
			return err
		}
		out, err = b.info.seasons(ids, s.now())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("seasons of board %s: %w", board, err)
	}
	return out, nil
}

// Close marks the store closed. It does not close the client.
func (s *RedisStore) Close() error {
	s.closed.Store(true)
	return nil
}
