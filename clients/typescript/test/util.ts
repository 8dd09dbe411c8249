// Helpers for waiting on events, each bounded in time.

import assert from "node:assert/strict";
import { LobbyError, type Connection, type ConnectionEvents } from "../src/index.js";
import type { StateMirror } from "../src/mirror.js";
import type { SchemaMirror } from "../src/schemamirror.js";

/** Resolves with the first `type` event for which `pred` holds; rejects after `ms` with `what`. */
export function waitFor<M extends StateMirror, K extends keyof ConnectionEvents<M>>(
  conn: Connection<M>,
  type: K,
  pred: (e: ConnectionEvents<M>[K]) => boolean = () => true,
  ms = 15000,
  what = `${String(type)} event`,
): Promise<ConnectionEvents<M>[K]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const off = conn.on(type, (e) => {
      if (!pred(e)) return;
      clearTimeout(t);
      off();
      resolve(e);
    });
  });
}

/** Resolves after `n` more state events. */
export function states<M extends StateMirror>(conn: Connection<M>, n: number, ms = 15000): Promise<unknown> {
  let seen = 0;
  return waitFor(conn, "state", () => ++seen >= n, ms, `${n} state frames`);
}

let rooms = 0;
/** A room id of its own for each test. */
export function roomId(prefix: string): string {
  return `${prefix}-${process.pid}-${++rooms}`;
}

/** The LobbyError a lobby call fails with (failing the test if it succeeds or throws something else). */
export async function lobbyError(p: Promise<unknown>): Promise<LobbyError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof LobbyError, `not a LobbyError: ${String(e)}`);
    return e;
  }
  assert.fail("the call succeeded");
}

/** Everything a mirror holds, as one string: room fields, entities and players with their fields and scores. */
export function stateText(m: SchemaMirror): string {
  return JSON.stringify({
    phase: m.phase,
    room: m.room.fields(),
    entities: m.entities.map((e) => [e.id, e.kindName, e.fields()]),
    players: m.players.map((p) => [p.id, p.name, p.entityId, p.score, p.fields()]),
  });
}

/** Records the connection's whole state at every tick it reaches from now on. */
export function recordStates(conn: Connection<SchemaMirror>): Map<number, string> {
  const seen = new Map<number, string>();
  conn.on("state", ({ tick, mirror }) => seen.set(tick, stateText(mirror)));
  return seen;
}

/** Asserts two recordings agree on every tick both reached; returns how many ticks that was. */
export function sameStates(a: Map<number, string>, b: Map<number, string>): number {
  let common = 0;
  for (const [tick, s] of a) {
    const other = b.get(tick);
    if (other === undefined) continue;
    assert.equal(other, s, `the states at tick ${tick} differ`);
    common++;
  }
  return common;
}
