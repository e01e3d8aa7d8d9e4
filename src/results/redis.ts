/** Result events PUBLISHed to a Redis channel (its own connection: a subscribed one cannot publish). */
import { Redis } from 'ioredis';

import { redisOptions } from '../brokers/redis.js';
import type { Config } from '../config/schema.js';
import type { ResultSender } from './sender.js';

/** An event waits this many reconnect attempts (about a minute with the capped backoff) before it fails. */
const RETRIES_PER_EVENT = 10;

export class RedisResultSender implements ResultSender {
  private readonly redis: Redis;

  constructor(section: Config['redis'], node: string) {
    this.redis = new Redis(redisOptions(section, { connectionName: `pcapd-results-${node}`, maxRetriesPerRequest: RETRIES_PER_EVENT }));
    // Failures surface through send(); an unhandled 'error' event would only be noise.
    this.redis.on('error', () => undefined);
  }

  async send(channel: string, body: string): Promise<void> {
    await this.redis.publish(channel, body);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
