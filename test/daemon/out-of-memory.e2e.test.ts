/**
 * A capture whose buffer cannot grow (an allocation failure, forced with the
 * addon's test limit PCAPD_TEST_CHUNK_LIMIT_BYTES) ends alone, with reason
 * error and PCAPD_ERR_CAPTURE_FAILED, keeping the packets it wrote: the file
 * it delivers reads back whole with tshark. The daemon, a warm interface's
 * reader and the other captures on it go on, and the next request is served.
 */
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { readPackets } from '../helpers/capture-files.js';
import { postJson, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, destroyAllTestLinks, type TestLink } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

/** Each capture's buffer may hold 1 MiB; the burst below is about 2 MB. */
const LIMIT_BYTES = 1024 * 1024;

let daemon: RunningDaemon | undefined;

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  await destroyAllTestLinks();
});

async function startLimited(link: TestLink, warm: boolean): Promise<RunningDaemon> {
  const append = warm ? `[[interface]]\nname = "${link.hostIf}"\nwarm = true\nlookbackbytes = 0\n` : '';
  daemon = await startDaemon({ edits: { general: { node: '"sensor-oom"' } }, append, env: { PCAPD_TEST_CHUNK_LIMIT_BYTES: String(LIMIT_BYTES) } });
  const running = daemon;
  if (warm) {
    await waitFor('the warm interface to open', async () => (await running.api('/interfaces')).body.warm?.[0]?.state === 'up');
  }
  return running;
}

/** The capture that runs out: ends with its code and delivers the packets it holds, each once, in order. */
async function expectEndedOutOfMemory(running: RunningDaemon, id: string): Promise<void> {
  const outcome = await running.waitForState(id, ['done', 'failed']);
  expect(outcome).toMatchObject({ state: 'failed', reason: 'error', error: { code: 'PCAPD_ERR_CAPTURE_FAILED' } });
  expect(outcome.error.message).toMatch(/^out of memory after \d+ packets/);
  expect(outcome.packets).toBeGreaterThan(100);
  expect(outcome.packets).toBeLessThan(2000);
  const sequences = (await readPackets(outcome.deliveries[0].locations[0] as string)).map((packet) => packet.sequence);
  expect(sequences).toEqual(Array.from({ length: outcome.packets }, (_, i) => i));
}

describe('a capture that cannot allocate', () => {
  for (const warm of [false, true]) {
    it(`ends alone with its code and its packets (${warm ? 'warm' : 'cold'}), and the daemon serves the next request`, async () => {
      const link = await createTestLink();
      const running = await startLimited(link, warm);
      const big = await running.api(
        '/captures?wait=armed',
        postJson({ node: 'any', interface: [link.hostIf], bpf: 'udp dst port 9999', packets: 5000, id: 'too-big' }),
      );
      expect(big.status).toBe(200);
      const small = await running.api(
        '/captures?wait=armed',
        postJson({ node: 'any', interface: [link.hostIf], bpf: 'udp dst port 9998', packets: 10, id: 'beside' }),
      );
      expect(small.status).toBe(200);

      const burst = join(running.dir, 'burst.pcap');
      await writeTrafficPcap(burst, 2000, 1000, { dstPort: 9999 });
      await link.replay(burst, { pps: 5000 });
      const other = join(running.dir, 'other.pcap');
      await writeTrafficPcap(other, 10, 200, { dstPort: 9998 });
      await link.replay(other, { pps: 1000 });

      await expectEndedOutOfMemory(running, 'too-big');
      // The capture beside it on the same interface (the same reader, when warm) was not touched.
      expect(await running.waitForState('beside', ['done', 'failed'])).toMatchObject({ state: 'done', reason: 'packets', packets: 10 });

      const next = await running.api(
        '/captures?wait=armed',
        postJson({ node: 'any', interface: [link.hostIf], bpf: 'udp dst port 9998', packets: 5, id: 'next' }),
      );
      expect(next.status).toBe(200);
      await link.replay(other, { pps: 1000 });
      expect(await running.waitForState('next', ['done', 'failed'])).toMatchObject({ state: 'done', reason: 'packets', packets: 5 });
      expect((await running.api('/healthz')).status).toBe(200);
    });
  }
});
