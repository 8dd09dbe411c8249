// The WebSocket a connection uses: the platform's own where there is one
// (browsers, Deno, Node 22+), else the `ws` package, loaded only then, so a
// browser bundle never includes it (package.json maps `ws` to nothing for
// bundlers that build for browsers, and the import below is dynamic).

/** The part of the WHATWG WebSocket API this SDK uses; both `ws` and browsers provide it. */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => SocketLike;

let cached: Promise<WebSocketConstructor> | undefined;

/** The platform's WebSocket, or `ws`'s in Node 20. */
export function defaultWebSocket(): Promise<WebSocketConstructor> {
  cached ??= (async () => {
    const native = (globalThis as { WebSocket?: unknown }).WebSocket;
    if (typeof native === "function") return native as WebSocketConstructor;
    const mod = (await import("ws")) as unknown as { WebSocket?: unknown; default?: unknown };
    const ctor = mod.WebSocket ?? mod.default;
    if (typeof ctor !== "function") {
      throw new Error("no WebSocket: this platform has none and the ws package did not load; pass options.WebSocket");
    }
    return ctor as WebSocketConstructor;
  })();
  return cached;
}

/** The game socket URL for a node's base URL (`ws://host:port` as the lobby gives it) or a full `.../ws` URL. */
export function socketURL(url: string): string {
  const u = new URL(url);
  if (u.protocol === "http:") u.protocol = "ws:";
  if (u.protocol === "https:") u.protocol = "wss:";
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/ws";
  return u.toString();
}
