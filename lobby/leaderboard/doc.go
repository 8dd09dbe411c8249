// Package leaderboard keeps named leaderboards that survive restarts, behind
// one interface, Store, with two implementations that behave identically:
//
//   - BoltStore, the default, needs no other service. Scores live in a bbolt
//     file; each season of each board also has an in-memory order-statistic
//     index, rebuilt from the file at open, so a rank costs O(log n) and no
//     read touches the disk. Submit returns only after its transaction is
//     synced, so a crash (kill -9, power loss) loses no acknowledged score.
//     Concurrent Submits share commits, which append to a log that is folded
//     into per-player records every so often, so a commit writes a few pages
//     however big the boards grow.
//   - RedisStore keeps a sorted set per board season, for servers that share
//     boards. Every operation is one Lua script, so operators are atomic on
//     the server.
//
// # Ordering
//
// A board ranks higher scores first (Descending) or lower ones first
// (Ascending). Ties on score go to the lower player id, in byte order, so
// no two entries share a rank and paging is stable. Scores are integers
// within ±2^53 (MaxScore), the range a Redis sorted set holds exactly; both
// stores refuse anything outside it, Increment results included.
//
// # Seasons
//
// A board with a Reset schedule (cron, in UTC) starts a new season each
// time the schedule fires. A season's id is its start, formatted as
// SeasonIDLayout ("20250310T000000Z"); a board without Reset has the single
// season "all". Submit files a score in the season containing the time it
// is given, so late results land where they belong; reads name a season, or
// "" for the current one. Past seasons stay readable until the board is
// deleted.
//
// # Errors
//
// Errors wrap the sentinels ErrUnknownBoard, ErrBoardExists, ErrNotRanked,
// ErrInvalid, ErrBadCursor and ErrClosed; compare with errors.Is. Every
// argument is validated before a store is touched.
package leaderboard
