// The SDK in a real browser: the esbuild browser bundle (which must leave ws
// out) runs in headless Chromium from Debian's package, joins a room on a
// real tickwire serve over the browser's WebSocket and mirrors it.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { build } from "esbuild";
import { startServer } from "./server.js";
import { roomId } from "./util.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";

test("the browser bundle joins and mirrors a room in headless Chromium with 0 mismatches, and calls the lobby cross-origin", async () => {
  const bundle = await build({
    entryPoints: [path.join(here, "browser/page.ts")],
    bundle: true, minify: true, format: "esm", platform: "browser", target: "es2022", write: false,
  });
  const js = bundle.outputFiles[0]!.text;
  assert.ok(!js.includes("Sec-WebSocket-Key"), "the ws package is in the browser bundle");

  const srv = await startServer();
  const profile = mkdtempSync(path.join(tmpdir(), "tickwire-sdk-chromium-"));
  let report: (r: Record<string, unknown>) => void;
  const reported = new Promise<Record<string, unknown>>((r) => (report = r));
  const page = http.createServer((req, res) => {
    if (req.method === "POST" && req.url === "/report") {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        res.end();
        report(JSON.parse(body) as Record<string, unknown>);
      });
      return;
    }
    if (req.url?.startsWith("/sdk.js")) {
      res.setHeader("Content-Type", "text/javascript");
      res.end(js);
      return;
    }
    res.setHeader("Content-Type", "text/html");
    res.end(`<!doctype html><title>sdk</title><script type="module" src="/sdk.js"></script>`);
  });
  await new Promise<void>((r) => page.listen(0, "127.0.0.1", r));
  const port = (page.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/?ws=${encodeURIComponent(srv.ws)}&http=${encodeURIComponent(srv.http)}&room=${roomId("browser")}`;
  const browser = spawn(chromium, [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
    // Nothing but the page: no update checks, sync, reporting or other calls out.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-domain-reliability", "--disable-breakpad",
    "--disable-client-side-phishing-detection", "--no-pings", "--no-default-browser-check",
    `--user-data-dir=${profile}`, url,
  ], { stdio: "ignore" });
  const exited = new Promise<void>((r) => browser.once("exit", () => r()));
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const r: Record<string, unknown> = await Promise.race([
      reported,
      exited.then((): Record<string, unknown> => ({ ok: false, error: "chromium exited before the page reported" })),
      new Promise<Record<string, unknown>>((_, rej) => (timer = setTimeout(() => rej(new Error("no report from the page in 60 s")), 60000))),
    ]);
    clearTimeout(timer);
    assert.equal(r.ok, true, String(r.error));
    assert.equal(r.nativeWebSocket, true);
    const stats = r.stats as { framesVerified: number; checksumMismatches: number; resyncs: number };
    assert.ok(stats.framesVerified >= 40);
    assert.equal(stats.checksumMismatches, 0);
    assert.equal(stats.resyncs, 0);
    assert.equal(r.moved, true, "the browser's input moved its avatar");
    // The lobby from another origin: a seat through the API, and a typed error.
    assert.equal(r.lobbyRoomJoined, true);
    assert.equal(r.lobbyErrorCode, "unknown_code 404");
  } finally {
    clearTimeout(timer);
    browser.kill("SIGKILL");
    await exited;
    await new Promise((r) => page.close(r));
    await srv.stop();
    rmSync(profile, { recursive: true, force: true });
  }
});
