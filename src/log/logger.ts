/**
 * One pino root logger. Components take `log.child({ component })`, each
 * request `log.child({ reqId })`. Lines are JSON on stdout (journald keeps
 * them under systemd); with a [syslog] section they also go to syslog through
 * util-linux `logger`, with the configured priority and tag.
 */
import { spawn } from 'node:child_process';

import pino, { type DestinationStream, type Logger } from 'pino';

import { stdoutLines, type StdoutLines } from './stdout-lines.js';
import { syslogPriorityName } from './syslog-priority.js';

export type Log = Logger;

export interface LoggerOptions {
  level?: string;
  syslog?: { priority: number; tag: string; socket?: string } | undefined;
  /** Tests pass a stream to read lines back. */
  destination?: DestinationStream;
}

export interface RootLogger {
  log: Log;
  close(): Promise<void>;
}

function syslogStream(priority: number, tag: string, socket = '/dev/log'): { stream: NodeJS.WritableStream; close(): Promise<void> } | undefined {
  // `logger` turns each stdin line into one syslog message (RFC 3164 over
  // /dev/log); Node has no Unix datagram sockets of its own.
  const child = spawn('logger', ['-u', socket, '-p', syslogPriorityName(priority) ?? 'daemon.alert', '-t', tag], { stdio: ['pipe', 'ignore', 'pipe'] });
  const stdin = child.stdin;
  if (stdin === null) return undefined;
  // A logger that exits must never take pcapd down with an EPIPE, and never
  // silently: its reason goes to stderr (journald keeps it), once.
  let why = '';
  child.stderr?.on('data', (data: Buffer) => {
    why = `${why}${data.toString('utf8')}`.slice(0, 512);
  });
  let closing = false;
  const reportOnce = (reason: string): void => {
    if (closing) return;
    closing = true;
    process.stderr.write(`pcapd: syslog: ${reason}; log lines no longer reach syslog (stdout still has them)\n`);
  };
  stdin.on('error', () => undefined);
  child.on('error', (err: Error) => reportOnce(`cannot run logger: ${err.message}`));
  child.on('exit', (code) => reportOnce(`logger exited (${code ?? 'signal'})${why === '' ? '' : `: ${why.trim()}`}`));
  return {
    stream: stdin,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        child.once('exit', () => resolve());
        stdin.end();
        setTimeout(resolve, 1000).unref();
      }),
  };
}

export function createLogger(options: LoggerOptions = {}): RootLogger {
  const level = options.level ?? process.env['PCAPD_LOG_LEVEL'] ?? 'info';
  const base = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  // stdout by default: in order, info lines batched over at most 50 ms, warnings at once (stdout-lines.ts).
  let stdout: StdoutLines | undefined;
  let primary: DestinationStream;
  if (options.destination === undefined) {
    stdout = stdoutLines();
    primary = stdout;
  } else {
    primary = options.destination;
  }
  const syslog = options.syslog ? syslogStream(options.syslog.priority, options.syslog.tag, options.syslog.socket) : undefined;
  const log = syslog ? pino(base, pino.multistream([{ stream: primary }, { stream: syslog.stream }])) : pino(base, primary);
  return {
    log,
    async close() {
      log.flush();
      stdout?.close();
      await syslog?.close();
    },
  };
}
