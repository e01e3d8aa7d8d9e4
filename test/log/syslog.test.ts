/**
 * Syslog through util-linux `logger`: pcapdaemon's numeric priorities are
 * turned into the names logger takes, and pcapd's lines arrive on a real Unix
 * datagram socket (bound here by python3, as syslog daemons bind /dev/log)
 * with that priority and tag.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ConfigSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import { syslogPriorityName } from '../../src/log/syslog-priority.js';
import { waitFor } from '../helpers/wait.js';

/** Prints each datagram it receives on the socket at argv[1], one per line. */
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    print(s.recv(65536).decode("utf-8", "replace").replace("\\n", " "), flush=True)
`;

let receiver: ChildProcess | undefined;
let dir: string | undefined;

afterEach(async () => {
  receiver?.kill();
  receiver = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function listen(): Promise<{ path: string; lines: string[] }> {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-syslog-'));
  const path = join(dir, 'log.sock');
  const lines: string[] = [];
  receiver = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  receiver.stdout?.on('data', (data: Buffer) =>
    lines.push(
      ...data
        .toString('utf8')
        .split('\n')
        .filter((line) => line !== ''),
    ),
  );
  await waitFor('the syslog socket', async () => lines.includes('ready'), 10_000);
  return { path, lines };
}

describe('syslog', () => {
  it('names the priorities syslog.h numbers (25 = daemon.alert) and refuses facilities logger cannot name', () => {
    expect(syslogPriorityName(25)).toBe('daemon.alert');
    expect(syslogPriorityName(0)).toBe('kern.emerg');
    expect(syslogPriorityName(191)).toBe('local7.debug');
    expect(syslogPriorityName(100)).toBeUndefined(); // facility 12
    expect(ConfigSchema.safeParse({ syslog: { priority: 25 } }).success).toBe(true);
    expect(ConfigSchema.safeParse({ syslog: { priority: 100 } }).success).toBe(false);
  });

  it("delivers pcapd's lines to the syslog socket with the configured priority and tag", async () => {
    const { path, lines } = await listen();
    const root = createLogger({ syslog: { priority: 25, tag: 'pcapd-test', socket: path } });
    root.log.info({ probe: 'syslog-1' }, 'hello syslog');
    const line = await waitFor('the line on the socket', async () => lines.find((entry) => entry.includes('syslog-1')), 10_000);
    await root.close();
    expect(line).toMatch(/^<25>/);
    expect(line).toContain('pcapd-test');
    expect(line).toContain('"msg":"hello syslog"');
  });
});
