/**
 * A TCP pass-through in front of a real server (versitygw), so a test can
 * hold an upload in the middle: once `stallAfterBytes` bytes went upstream,
 * it stops reading from the client, whose writes then block on TCP
 * backpressure, exactly as on a link that stopped moving. Nothing is
 * answered or altered by the proxy; the real server sees every byte it passes.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

import { waitFor } from './wait.js';

export interface TcpProxy {
  readonly port: number;
  /** Bytes sent upstream (client → server) so far. */
  readonly bytesUp: number;
  /** Stop forwarding client bytes once this many went upstream in total; undefined: never. */
  stallAfterBytes(bytes: number | undefined): void;
  waitStalled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** `listenPort` reopens a stopped proxy on its old port: to its clients, the server went down and came back. */
export async function startTcpProxy(target: { host: string; port: number }, options: { listenHost?: string; listenPort?: number } = {}): Promise<TcpProxy> {
  let bytesUp = 0;
  let stallAt: number | undefined;
  let stalled = false;
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    if (stalled) client.pause();
    client.on('data', (chunk: Buffer) => {
      if (stalled) return;
      const room = stallAt === undefined ? chunk.length : Math.max(0, stallAt - bytesUp);
      const forward = chunk.subarray(0, Math.min(room, chunk.length));
      bytesUp += forward.length;
      upstream.write(forward);
      if (forward.length < chunk.length || (stallAt !== undefined && bytesUp >= stallAt)) {
        // The rest of this chunk is never sent: the connection is dead either way once the test kills pcapd.
        stalled = true;
        client.pause();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(options.listenPort ?? 0, options.listenHost ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    get bytesUp() {
      return bytesUp;
    },
    stallAfterBytes(bytes) {
      stallAt = bytes === undefined ? undefined : bytesUp + bytes;
      stalled = false;
    },
    async waitStalled(timeoutMs = 30_000) {
      await waitFor('the tcp proxy to stall', () => stalled, { timeoutMs, intervalMs: 20, detail: () => `${bytesUp} bytes passed` });
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
