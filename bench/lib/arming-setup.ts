/**
 * What the arming benchmarks (bench/arming.ts, bench/arming-ab.ts) share:
 * a UDP trickle on lo for `packets: 1` captures to catch, the request they
 * publish, the daemon config (no local files, room for every request,
 * outcomes kept to be read back), warm on lo or not, and how the latencies
 * of the requests sent are read back.
 */
import { createSocket } from 'node:dgram';

import { mergeEdits, type Edits } from '../../test/helpers/brokers.js';
import type { RunningDaemon } from '../../test/helpers/daemon.js';
import { waitFor } from '../../test/helpers/wait.js';
import { isoToMs } from './timing.js';

export const TRICKLE_PORT = 47_998;
export const TRICKLE_FILTER = `udp dst port ${TRICKLE_PORT}`;
/** `[[interface]]` making lo warm, with a 16 MiB lookback ring. */
export const WARM_LO = '[[interface]]\nname = "lo"\nwarm = true\nlookbackbytes = 16777216\n';

/** UDP packets to lo at `pps` (in bursts every millisecond); returns a stop function. */
export function trickle(pps: number): () => void {
  const socket = createSocket('udp4');
  const perTick = Math.max(1, Math.round(pps / 1000));
  const payload = Buffer.alloc(18);
  const timer = setInterval(() => {
    for (let i = 0; i < perTick; i++) socket.send(payload, TRICKLE_PORT, '127.0.0.1');
  }, 1);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    socket.close();
  };
}

/** One request: capture one packet of the trickle on lo. */
export function oneTricklePacket(node: string, id: string): string {
  return JSON.stringify({ id, node, interface: ['lo'], bpf: TRICKLE_FILTER, packets: 1, duration: 2, bytes: 65_536 });
}

/** The config edits of a benchmarked daemon listening on `listener` (its broker edits) as node `node`. */
export function armingEdits(listener: Edits, node: string): Edits {
  return mergeEdits(listener, {
    general: { node: JSON.stringify(node), writelocal: 'false' },
    scheduler: { maxconcurrent: '64', perinterface: '64', queue: '1000' },
    http: { history: '20000', retainseconds: '0' },
  });
}

export async function waitForWarmLo(daemon: RunningDaemon): Promise<void> {
  await waitFor('lo to be warm', async () => ((await daemon.api('/interfaces')).body.warm?.[0]?.state === 'up' ? true : undefined));
}

export interface ArmingLatencies {
  /** Publish → the capture's startedAt (stamped by the native core when armed), ms, of each request that ended done. */
  armedMs: number[];
  /** `sinceLastPacketMs` of each "capture ended" line: the packet that reached the limit → the file in JavaScript. */
  handoverMs: number[];
  /** Requests that did not end done with a start time. */
  failed: number;
}

/** The latencies of the requests in `publishedAt` (id → time just before publishing, nowMs()), read from `daemon`. */
export async function armingLatencies(daemon: RunningDaemon, publishedAt: ReadonlyMap<string, number>): Promise<ArmingLatencies> {
  const latencies: ArmingLatencies = { armedMs: [], handoverMs: [], failed: 0 };
  for (const [id, published] of publishedAt) {
    const outcome = await daemon.waitForState(id, ['done', 'failed'], 60_000).catch(() => undefined);
    if (outcome?.state !== 'done' || typeof outcome.startedAt !== 'string') latencies.failed += 1;
    else latencies.armedMs.push(isoToMs(outcome.startedAt) - published);
  }
  for (const line of daemon.logs) {
    if (line.msg === 'capture ended' && publishedAt.has(String(line['reqId'])) && typeof line['sinceLastPacketMs'] === 'number') {
      latencies.handoverMs.push(line['sinceLastPacketMs']);
    }
  }
  return latencies;
}
