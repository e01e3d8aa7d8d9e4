/**
 * Redis connection settings from [redis], shared by the listener, the result
 * publisher and `pcapd request`, so all three reach the same server the same
 * way (ACL user, database, TLS).
 */
import { readFileSync } from 'node:fs';

import type { RedisOptions } from 'ioredis';

import type { Config } from '../config/schema.js';
import { backoffDelayMs } from '../backoff.js';

/**
 * The field of a stream entry that holds the JSON request: what the listener
 * reads and what `pcapd request --via redis` writes.
 */
export const STREAM_REQUEST_FIELD = 'request';

export interface RedisConnectionOptions {
  /** CLIENT SETNAME: shows which pcapd connection is which in CLIENT LIST. */
  connectionName: string;
  /**
   * Commands issued while disconnected wait for the reconnect (null) or fail
   * after this many reconnect attempts. Listeners wait; one-shot commands fail.
   */
  maxRetriesPerRequest: number | null;
  /** Called with each reconnect attempt's delay; return false to stop reconnecting. */
  onRetry?: (attempt: number, delayMs: number) => boolean;
}

/** ioredis's constructor types `replyMapping` more narrowly than RedisOptions does; pcapd keeps the default. */
export type PcapdRedisOptions = Omit<RedisOptions, 'replyMapping'>;

export function redisOptions(section: Config['redis'], options: RedisConnectionOptions): PcapdRedisOptions {
  return {
    host: section.host,
    port: section.port,
    db: section.db,
    connectionName: options.connectionName,
    maxRetriesPerRequest: options.maxRetriesPerRequest,
    // pcapdaemon sent a placeholder instead of the configured password.
    ...(section.auth === undefined ? {} : { password: section.auth }),
    ...(section.username === undefined ? {} : { username: section.username }),
    ...(section.tls ? { tls: tlsOptions(section) } : {}),
    connectTimeout: 10_000,
    retryStrategy: (attempt: number) => {
      const delayMs = backoffDelayMs(attempt);
      // A non-number ends reconnecting: used only after a deliberate stop.
      return options.onRetry?.(attempt, delayMs) === false ? null : delayMs;
    },
  };
}

function tlsOptions(section: Config['redis']): NonNullable<RedisOptions['tls']> {
  return {
    servername: section.host,
    ...(section.tlsca === undefined ? {} : { ca: readFileSync(section.tlsca) }),
  };
}
