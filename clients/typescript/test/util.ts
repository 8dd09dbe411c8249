// Helpers for waiting on events, each bounded in time.

import assert from "node:assert/strict";
import { LobbyError, type Connection, type ConnectionEvents } from "../src/index.js";
import type { StateMirror } from "../src/mirror.js";

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
