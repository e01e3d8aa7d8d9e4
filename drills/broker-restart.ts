/**
 * A broker restarted mid-stream, seen from pcapd: the connection to it drops
 * and is refused for a while, then it is back. The shared test servers are
 * never stopped (other suites use them): pcapd reaches each through a TCP
 * proxy the drill stops and reopens on the same port. Requests published
 * before the outage and after it are all captured; SQS also keeps what was
 * published during it (Redis pub/sub keeps nothing by design, so none is sent then).
 *
 * Kafka cannot be cut this way: its clients connect to the address the
 * broker advertises after the first metadata call, so a proxy in front of
 * the bootstrap address never carries the consumer's traffic. Its drill
 * restarts the test server itself (scripts/test-services.sh restart kafka):
 * run `npm run drills` with nothing else using the test servers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createFixture, mergeEdits, redisAddress, restartService, testEnv, type BrokerFixture, type Edits } from '../test/helpers/brokers.js';
import { startDaemon, type RunningDaemon } from '../test/helpers/daemon.js';
import { createTestLink, type TestLink } from '../test/helpers/netns.js';
import { startTcpProxy, type TcpProxy } from '../test/helpers/tcp-proxy.js';
import { captureRequest, localCopies, sinksOf, type Outcome } from './lib/captures.js';
import type { Drill, DrillContext } from './lib/drill.js';

interface Broker {
  name: 'redis' | 'sqs' | 'kafka';
  /** Where pcapd reaches the server: through a proxy the drill cuts, or directly while the server itself restarts. */
  outage: 'proxy' | 'restart';
  upstream(): { host: string; port: number };
  /** The fixture's edits, pointed at the proxy (with outage "proxy"). */
  edits(fixture: BrokerFixture, proxyPort: number): Edits;
  keepsMessagesWhileDown: boolean;
}

const BROKERS: readonly Broker[] = [
  {
    name: 'redis',
    outage: 'proxy',
    upstream: redisAddress,
    edits: (fixture, port) => mergeEdits(fixture.edits(), { redis: { host: '"127.0.0.1"', port: String(port) } }),
    keepsMessagesWhileDown: false,
  },
  {
    name: 'sqs',
    outage: 'proxy',
    upstream: () => {
      const url = new URL(testEnv('PCAPD_TEST_SQS_ENDPOINT'));
      return { host: url.hostname, port: Number(url.port) };
    },
    edits: (fixture, port) => mergeEdits(fixture.edits(), { sqs: { endpoint: JSON.stringify(`http://127.0.0.1:${port}`) } }),
    keepsMessagesWhileDown: true,
  },
  {
    name: 'kafka',
    outage: 'restart',
    upstream: () => {
      const [host = '127.0.0.1', port = '9092'] = testEnv('PCAPD_TEST_KAFKA_BROKERS').split(',')[0]?.split(':') ?? [];
      return { host, port: Number(port) };
    },
    edits: (fixture) => fixture.edits(),
    // Nothing can be published while the only broker is down.
    keepsMessagesWhileDown: false,
  },
];

/** A broker outage, capped so the whole run stays within its ten minutes. */
const outageMs = (outageSeconds: number): number => Math.min(outageSeconds, 20) * 1000;

async function publishAll(
  ctx: DrillContext,
  fixture: BrokerFixture,
  daemon: RunningDaemon,
  link: TestLink,
  ids: string[],
  phase: string,
  n: number,
): Promise<void> {
  for (let i = 0; i < n; i += 1) {
    const id = `${fixture.listener}-${phase}-${i}`;
    ids.push(id);
    ctx.counts.requested += 1;
    await fixture.publish(JSON.stringify(captureRequest(link, id, { duration: 1 })), daemon);
  }
}

function brokerDrill(broker: Broker): Drill {
  return {
    name: `${broker.name}-restart`,
    budgetMs: ({ outageSeconds }) => outageMs(outageSeconds) + 90_000,
    async run(ctx) {
      const dir = await mkdtemp(join(tmpdir(), 'pcapd-drill-'));
      ctx.defer(() => rm(dir, { recursive: true, force: true }));
      const fixture = await createFixture(broker.name, { sqsVisibilitySeconds: 30 });
      ctx.defer(() => fixture.close());
      let proxy: TcpProxy = await startTcpProxy(broker.upstream());
      const port = proxy.port;
      ctx.defer(() => proxy.stop());
      // Captures of a quiet link end at their duration with no packet: delivered all the same.
      // Five at once on one interface exceed scheduler.perinterface: the rest wait in the queue.
      const daemon = await startDaemon({
        dir,
        edits: mergeEdits(broker.edits(fixture, port), { general: { deliverempty: 'true' }, scheduler: { queue: '32' } }),
      });
      ctx.defer(() => daemon.stop());
      const link = await createTestLink();
      ctx.defer(() => link.destroy());
      const ids: string[] = [];

      await publishAll(ctx, fixture, daemon, link, ids, 'before', 5);
      await daemon.waitForState(ids.at(-1) ?? '', ['done'], 30_000);
      const away =
        broker.outage === 'restart' ? 'is restarted' : `goes away for ${outageMs(ctx.options.outageSeconds) / 1000} s (proxy closed, connections cut)`;
      ctx.step(`5 requests published and captured; ${broker.name} ${away}`);
      if (broker.outage === 'restart') {
        await restartService(broker.name as 'kafka');
        ctx.step(`${broker.name} server restarted`);
      } else {
        await proxy.stop();
        if (broker.keepsMessagesWhileDown) {
          await publishAll(ctx, fixture, daemon, link, ids, 'during', 5);
          ctx.step('5 requests published to the server while pcapd cannot reach it');
        }
        await new Promise((resolve) => setTimeout(resolve, outageMs(ctx.options.outageSeconds)));
        proxy = await startTcpProxy(broker.upstream(), { listenPort: port });
        ctx.step(`${broker.name} reachable again`);
      }
      await publishAll(ctx, fixture, daemon, link, ids, 'after', 5);

      const deadline = performance.now() + 60_000;
      for (const id of ids) {
        let outcome: Outcome | undefined;
        while (outcome?.state !== 'done' && performance.now() < deadline) {
          const { status, body } = await daemon.api(`/captures/${id}`);
          outcome = status === 200 ? (body as Outcome) : undefined;
          if (outcome?.state !== 'done') await new Promise((resolve) => setTimeout(resolve, 250));
        }
        const copies = await localCopies(daemon.captureDir, id);
        if (outcome?.state === 'done') ctx.counts.captured += 1;
        if (sinksOf(outcome).includes('local') && copies >= 1) ctx.counts.delivered += 1;
        else ctx.counts.lost += 1;
        ctx.counts.duplicated += Math.max(0, copies - 1);
      }
      const reconnects = daemon.logs.filter((line) => /reconnect|connection lost|down/i.test(line.msg)).length;
      ctx.step(`${ctx.counts.captured}/${ids.length} captured; ${reconnects} log lines about the lost connection`);
    },
  };
}

export const brokerRestarts: readonly Drill[] = BROKERS.map(brokerDrill);
