/**
 * The reference the Redis latency benchmarks print beside pcapd: PUBLISH of a
 * plain message to a subscriber, on the same server, at the same rate.
 */
import { spawn } from 'node:child_process';

import { newRedis, redisAddress, uniqueName } from '../../test/helpers/brokers.js';
import { REPO } from '../../test/helpers/daemon.js';
import { processCpuMs } from './proc.js';
import { nowMs, paced } from './timing.js';

/** PUBLISH → subscriber latencies (ms) of `count` messages at `rate`/s, after `warmup` unmeasured ones. */
export async function redisPublishRoundTrips(count: number, rate: number, warmup = 0): Promise<number[]> {
  const channel = uniqueName('bench-ref');
  const subscriber = newRedis();
  const publisher = newRedis();
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  subscriber.on('message', (_channel: string, message: string) => {
    const sent = sentAt.get(message);
    if (sent !== undefined) latencies.push(nowMs() - sent);
  });
  await subscriber.subscribe(channel);
  const send = async (i: number): Promise<void> => {
    sentAt.set(String(i), nowMs());
    await publisher.publish(channel, String(i));
  };
  await paced(warmup, rate, (i) => send(-1 - i));
  latencies.length = 0;
  await paced(count, rate, send);
  const deadline = Date.now() + 30_000;
  while (latencies.length < count) {
    if (Date.now() > deadline) throw new Error('reference messages did not all arrive');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  subscriber.disconnect();
  publisher.disconnect();
  return latencies;
}

/**
 * The CPU a Node.js process spends per message that does nothing but
 * receive it: an ioredis subscriber that JSON.parses each message, `count`
 * messages of `body` at `rate`/s, in a child process of its own. It is the
 * floor under pcapd's CPU per request on this machine (a wakeup of an idle
 * process costs far more on a VM than on bare metal).
 */
export async function redisSubscriberCpuPerMessageMs(count: number, rate: number, body: string): Promise<number> {
  const channel = uniqueName('bench-cpu-ref');
  const script = `import { Redis } from 'ioredis';
    const redis = new Redis(${JSON.stringify(redisAddress())});
    let fields = 0;
    redis.on('message', (_channel, message) => { fields += Object.keys(JSON.parse(message)).length; });
    await redis.subscribe(${JSON.stringify(channel)});
    process.stdout.write('ready\\n');
    process.on('SIGTERM', () => process.exit(fields > 0 ? 0 : 1));`;
  const child = spawn(process.execPath, ['--input-type=module', '--eval', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the reference subscriber exited (${code})`)));
      child.stdout?.once('data', () => resolve());
    });
    const publisher = newRedis();
    const pid = child.pid ?? 0;
    await paced(Math.min(100, count), rate, () => publisher.publish(channel, body).then(() => undefined));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = processCpuMs(pid);
    await paced(count, rate, () => publisher.publish(channel, body).then(() => undefined));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const spent = processCpuMs(pid) - before;
    publisher.disconnect();
    return spent / count;
  } finally {
    child.kill('SIGTERM');
  }
}
