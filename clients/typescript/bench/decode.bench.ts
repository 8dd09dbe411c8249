// What one frame costs the SDK: decoding an arena delta of 64 entities (16
// players and 48 orbs, the reference room) and applying it by the room's
// schema and verifying its checksum, the way the connection does it (the
// delta read straight into numbers, src/wire.ts); and, beside it, the same
// through the generated code's Delta (bigints).
// Records real frames from a real tickwire serve, then replays them.
//
//   npm run bench

import { fromBinary, toBinary, create } from "@bufbuild/protobuf";
import { WebSocket } from "ws";
import { ClientFrameSchema, ServerFrameSchema, type Delta } from "../src/gen/tickwire/v1/tickwire_pb.js";
import { readDeltaFrame } from "../src/wire.js";
import { Connection, PROTOCOL_VERSION, SchemaMirror, stateChecksum } from "../src/index.js";
import { startServer } from "../test/server.js";

const PLAYERS = 16;
const FRAMES = 400;

const srv = await startServer(["--room-size", String(PLAYERS + 1)]);
const room = "bench-room";
const conns: Connection[] = [];
try {
  for (let i = 0; i < PLAYERS - 1; i++) {
    const c = new Connection({ url: srv.ws, roomId: room, name: `p${i}` });
    await c.connect();
    conns.push(c);
  }
  // The recorder is the 16th player: it keeps the raw frames.
  const frames: Uint8Array[] = [];
  const ws = new WebSocket(`${srv.ws}/ws`);
  ws.binaryType = "arraybuffer";
  const recorded = new Promise<void>((resolve) => {
    ws.on("message", (data: ArrayBuffer) => {
      frames.push(new Uint8Array(data));
      if (frames.length >= FRAMES) resolve();
    });
  });
  await new Promise((r) => ws.once("open", r));
  ws.send(toBinary(ClientFrameSchema, create(ClientFrameSchema, {
    body: { case: "join", value: { protocolVersion: PROTOCOL_VERSION, roomId: room, name: "recorder" } },
  })));
  // Everyone walks, changing direction now and then, as the arena workload does.
  const steer = setInterval(() => {
    for (const c of conns) {
      if (Math.random() < 0.1) c.sendInput({ dx: Math.floor(Math.random() * 3) - 1, dy: Math.floor(Math.random() * 3) - 1 });
    }
  }, 100);
  await recorded;
  clearInterval(steer);
  ws.close();

  const first = fromBinary(ServerFrameSchema, frames[0]!);
  if (first.body.case !== "welcome") throw new Error("the first frame is not a welcome");
  const snapshot = first.body.value.snapshot!;
  const deltas = frames.slice(1).filter((f) => fromBinary(ServerFrameSchema, f).body.case === "delta");
  const sizes = deltas.map((f) => f.length).sort((a, b) => a - b);
  const entities = snapshot.entities?.ids.length ?? 0;

  const m = SchemaMirror.fromWelcome(first.body.value);
  const run = () => {
    m.applySnapshot(snapshot);
    const t0 = performance.now();
    for (const f of deltas) m.applyDeltaFrame(readDeltaFrame(f)!);
    return performance.now() - t0;
  };
  const runGenerated = () => {
    m.applySnapshot(snapshot);
    const t0 = performance.now();
    for (const f of deltas) m.applyDelta(fromBinary(ServerFrameSchema, f).body.value as Delta);
    return performance.now() - t0;
  };
  const decodeOnly = () => {
    const t0 = performance.now();
    for (const f of deltas) readDeltaFrame(f);
    return performance.now() - t0;
  };
  const decodeGenerated = () => {
    const t0 = performance.now();
    for (const f of deltas) fromBinary(ServerFrameSchema, f);
    return performance.now() - t0;
  };
  const median = (f: () => number) => {
    for (let i = 0; i < 20; i++) f(); // warm up the JIT
    const per: number[] = [];
    for (let i = 0; i < 50; i++) per.push((f() * 1000) / deltas.length);
    return per.sort((a, b) => a - b);
  };
  const checksumOnly = () => {
    const t0 = performance.now();
    for (let i = 0; i < deltas.length; i++) stateChecksum(m.schema, m.entities, m.players, m.room);
    return performance.now() - t0;
  };
  const perDelta = median(run);
  const med = perDelta[perDelta.length >> 1]!;
  const dec = median(decodeOnly);
  const sum = median(checksumOnly);
  const gen = median(runGenerated);
  const decGen = median(decodeGenerated);
  const mid = (xs: number[]) => xs[xs.length >> 1]!.toFixed(2);
  console.log(`through the generated code (bigints): decode + apply + checksum median ${mid(gen)} µs, decode alone ${mid(decGen)} µs`);
  console.log(`decode alone per delta: median ${mid(dec)} µs; checksum alone: median ${mid(sum)} µs`);
  console.log(`node ${process.version}, ${entities} entities (${PLAYERS} players), ${deltas.length} recorded deltas of ${sizes[0]}-${sizes.at(-1)} bytes (median ${sizes[sizes.length >> 1]})`);
  console.log(`decode + apply + checksum per delta: median ${med.toFixed(2)} µs over 50 runs (best ${perDelta[0]!.toFixed(2)}, worst ${perDelta.at(-1)!.toFixed(2)})`);
} finally {
  for (const c of conns) await c.close();
  await srv.stop();
}
