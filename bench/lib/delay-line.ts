/**
 * A userspace model of a long network path, for benchmarks on machines whose
 * kernel has no netem: a TCP relay that delivers each byte half a round trip
 * late in each direction and lets each connection have at most `windowBytes`
 * unacknowledged, the credit coming back one round trip after the bytes were
 * taken. One connection then moves at most windowBytes / RTT, the bound a
 * real path of that RTT puts on a TCP stream whose send window is that size
 * (slow start, which only lowers it further, is not modelled).
 */
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface DelayLine {
  readonly port: number;
  stop(): Promise<void>;
}

export async function startDelayLine(target: { host: string; port: number }, options: { rttMs: number; windowBytes: number }): Promise<DelayLine> {
  const halfMs = options.rttMs / 2;
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ port: target.port, host: target.host, allowHalfOpen: true });
    sockets.add(client).add(upstream);
    let unacked = 0;
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) socket.on('error', close);
    // An end travels the same delay as the bytes before it, so none is cut off.
    client.on('end', () => setTimeout(() => upstream.end(), halfMs));
    upstream.on('end', () => setTimeout(() => client.end(), halfMs));
    client.on('close', () => setTimeout(close, options.rttMs));
    upstream.on('close', () => setTimeout(close, options.rttMs));
    client.on('data', (chunk: Buffer) => {
      unacked += chunk.length;
      if (unacked >= options.windowBytes) client.pause();
      setTimeout(() => upstream.write(chunk), halfMs);
      setTimeout(() => {
        unacked -= chunk.length;
        if (unacked < options.windowBytes && client.isPaused()) client.resume();
      }, options.rttMs);
    });
    upstream.on('data', (chunk: Buffer) => {
      setTimeout(() => client.write(chunk), halfMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Run as its own process (so relaying does not take the benchmark's own
 * JavaScript thread): `node --import tsx bench/lib/delay-line.ts HOST PORT RTT_MS WINDOW_BYTES`
 * prints the port it listens on, then relays until killed.
 */
if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  const [host = '127.0.0.1', port = '0', rttMs = '40', windowBytes = '4194304'] = process.argv.slice(2);
  const line = await startDelayLine({ host, port: Number(port) }, { rttMs: Number(rttMs), windowBytes: Number(windowBytes) });
  process.stdout.write(`${line.port}\n`);
}
