// A real `tickwire serve` on loopback for the SDK's tests, built from this
// repository (or taken from $TICKWIRE_BIN, which scripts/test.sh sets).

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const API_KEY = "sdk-test-api-key-0123456789";

let built: string | undefined;

/** The tickwire binary: $TICKWIRE_BIN, or `go build` of ./cmd/tickwire into a temporary directory. */
export function tickwireBinary(): string {
  if (process.env.TICKWIRE_BIN) return process.env.TICKWIRE_BIN;
  if (built) return built;
  const dir = mkdtempSync(path.join(tmpdir(), "tickwire-sdk-bin-"));
  const bin = path.join(dir, "tickwire");
  execFileSync("go", ["build", "-o", bin, "./cmd/tickwire"], {
    cwd: repoRoot,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, PATH: `/usr/local/go/bin:${process.env.PATH ?? ""}` },
  });
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  built = bin;
  return bin;
}

/** A free loopback port (the listener is closed again before the server binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface TestServer {
  /** http://127.0.0.1:PORT */
  http: string;
  /** ws://127.0.0.1:PORT */
  ws: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts `tickwire serve --open-rooms` on a free loopback port and waits until /healthz answers. */
export async function startServer(extra: string[] = []): Promise<TestServer> {
  const bin = tickwireBinary();
  const dataDir = mkdtempSync(path.join(tmpdir(), "tickwire-sdk-data-"));
  const port = await freePort();
  const args = [
    "serve", "--open-rooms", "--addr", `127.0.0.1:${port}`, "--data-dir", dataDir,
    "--api-key", API_KEY, "--match-interval", "100ms", "--shutdown-timeout", "2s",
    "--log-level", "warn", ...extra,
  ];
  const proc: ChildProcess = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (b: Buffer) => {
    stderr += b.toString();
    if (stderr.length > 20000) stderr = stderr.slice(-20000);
  });
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  let dead = false;
  void exited.then(() => (dead = true));
  const http = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!dead) {
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  // Wait for the listener: each try is bounded, and so is their number.
  for (let i = 0; i < 200; i++) {
    if (dead) break;
    try {
      const r = await fetch(`${http}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return { http, ws: `ws://127.0.0.1:${port}`, port, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`tickwire serve did not come up on ${http}:\n${stderr}`);
}
