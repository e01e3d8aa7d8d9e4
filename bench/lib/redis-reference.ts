/**
 * The reference the Redis latency benchmarks print beside pcapd: PUBLISH of a
 * plain message to a subscriber, on the same server, at the same rate.
 */
import { newRedis, uniqueName } from '../../test/helpers/brokers.js';
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
