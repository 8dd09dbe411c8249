// A TCP proxy on loopback whose connections a test can cut, to drop a
// client's network the way a real one drops: no close frame, no Leave.

import net from "node:net";

export interface Proxy {
  /** ws://127.0.0.1:PORT, forwarding to the target. */
  url: string;
  /** Destroys every open connection, both sides. */
  dropAll(): void;
  /** While refusing, new connections are cut at once (the network is still down). */
  refuse(on: boolean): void;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

export function startProxy(targetPort: number): Promise<Proxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let refusing = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, "127.0.0.1");
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      const dropAll = () => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        pairs.clear();
      };
      resolve({
        url: `ws://127.0.0.1:${port}`,
        dropAll,
        refuse(on) {
          refusing = on;
        },
        get accepted() {
          return accepted;
        },
        close() {
          dropAll();
          return new Promise((r) => server.close(() => r()));
        },
      });
    });
  });
}
