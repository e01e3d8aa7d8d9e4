/**
 * A kafkajs client from [kafka], shared by the listener, the result publisher
 * and `pcapd request`. kafkajs's own log lines go to pcapd's logger.
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

import { Kafka, logLevel, type ISocketFactory, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';

import type { Config } from '../config/schema.js';
import type { Log } from '../log/logger.js';
import { BROKER_BACKOFF } from '../backoff.js';

export interface KafkaClientOptions {
  /**
   * Called when a broker connection closes without kafkajs having closed it
   * (a broker restart, a network failure). kafkajs retries such failures
   * inside its own calls and reports nothing outward, so this is how a
   * listener learns of a disconnect.
   */
  onConnectionLost?: (err: Error) => void;
}

export function kafkaClient(section: Config['kafka'], clientId: string, log: Log, options: KafkaClientOptions = {}): Kafka {
  // kafkajs warns about its v2 default partitioner on every producer; pcapd
  // sends without keys, so either partitioner spreads requests the same way.
  process.env['KAFKAJS_NO_PARTITIONER_WARNING'] ??= '1';
  const config: KafkaConfig = {
    clientId,
    brokers: [...section.server],
    connectionTimeout: 10_000,
    // kafkajs's retry is exponential with ±20 % jitter (`factor`), capped here
    // like every other pcapd reconnect.
    retry: { initialRetryTime: BROKER_BACKOFF.baseMs * 3, maxRetryTime: BROKER_BACKOFF.capMs, retries: 8 },
    logLevel: logLevel.INFO,
    logCreator: () => (entry: LogEntry) => logKafka(log, entry),
  };
  if (options.onConnectionLost !== undefined) config.socketFactory = watchedSockets(options.onConnectionLost);
  if (section.ssl) config.ssl = section.sslca === undefined ? true : { ca: [readFileSync(section.sslca, 'utf8')] };
  const sasl = saslOptions(section);
  if (sasl !== undefined) config.sasl = sasl;
  return new Kafka(config);
}

/** kafkajs's own socket factory (src/network/socketFactory.js), plus a watch on unexpected closes. */
function watchedSockets(onLost: (err: Error) => void): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    const socket: Socket = ssl
      ? tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
      : netConnect({ host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    // kafkajs closes its sockets with end(), also in answer to the broker
    // closing them; the broker closing first ('end' before our end()) or a
    // socket error on an open connection is a lost connection.
    let closing = false;
    let connected = false;
    const end = socket.end.bind(socket);
    socket.end = ((...args: Parameters<Socket['end']>) => {
      closing = true;
      return end(...args);
    }) as Socket['end'];
    socket.once(ssl ? 'secureConnect' : 'connect', () => {
      connected = true;
    });
    const lost = (why: string): void => {
      if (!connected || closing) return;
      closing = true;
      onLost(new Error(`connection to broker ${host}:${port} ${why}`));
    };
    socket.once('end', () => lost('closed by the broker'));
    socket.once('error', (err: Error) => lost(`failed: ${err.message}`));
    return socket;
  };
}

function saslOptions(section: Config['kafka']): SASLOptions | undefined {
  const { saslmechanism: mechanism, saslusername: username = '', saslpassword: password = '' } = section;
  switch (mechanism) {
    case undefined:
      return undefined;
    case 'plain':
      return { mechanism, username, password };
    case 'scram-sha-256':
      return { mechanism, username, password };
    case 'scram-sha-512':
      return { mechanism, username, password };
    default: {
      const unknown: never = mechanism;
      throw new Error(`unknown SASL mechanism ${String(unknown)}`);
    }
  }
}

/**
 * kafkajs logs at ERROR what it retries itself (a coordinator not yet
 * available, a broker restarting); pcapd logs its own decisions, so these
 * come through one level lower.
 */
function logKafka(log: Log, entry: LogEntry): void {
  const { message, ...fields } = entry.log;
  const line = { kafkajs: entry.namespace, ...pick(fields, ['broker', 'groupId', 'error', 'retryCount', 'retryTime']) };
  switch (entry.level) {
    case logLevel.ERROR:
    case logLevel.WARN:
      log.warn(line, `kafkajs: ${message}`);
      return;
    case logLevel.INFO:
      log.debug(line, `kafkajs: ${message}`);
      return;
    default:
      log.trace(line, `kafkajs: ${message}`);
  }
}

function pick(fields: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((key) => fields[key] !== undefined).map((key) => [key, fields[key]]));
}
