/**
 * `pcapd request` as a user runs it: the real CLI, a config file, the real
 * Redis. What is checked locally never reaches a broker; exit codes say
 * sent (0), refused or failed (1), or usage (2).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { newRedis, redisAddress, uniqueName } from '../helpers/brokers.js';
import { PCAPD_BIN } from '../helpers/daemon.js';
import { eveAlertLine } from '../helpers/eve.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-request-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function pcapdRequest(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(PCAPD_BIN, ['request', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function configFile(redis: Record<string, string>): Promise<string> {
  const { host, port } = redisAddress();
  const lines = ['[redis]', 'listen = true', `host = "${host}"`, `port = ${port}`, ...Object.entries(redis).map(([k, v]) => `${k} = ${v}`)];
  const path = join(dir, `${uniqueName('config')}.toml`);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

describe('pcapd request', () => {
  it('--dry-run prints the validated request, with an id and a timestamp added', async () => {
    const config = await configFile({});
    const result = await pcapdRequest(['-config', config, '--node', 'sensor-1', '--interface', 'eth0', '--packets', '10', '--dry-run']);
    expect(result.code).toBe(0);
    const request = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(request).toMatchObject({ node: 'sensor-1', interface: ['eth0'], packets: 10 });
    expect(request['id']).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(Date.parse(String(request['timestamp']))).not.toBeNaN();
    expect(result.stderr).toContain('interface names are checked by the capturing node, not here');
  });

  it("--eve sends one line of eve.json as the request's eve, flow_id exact; refuses a malformed or multi-line file", async () => {
    const config = await configFile({});
    const line = eveAlertLine({
      srcIp: '10.0.0.1',
      srcPort: 40000,
      destIp: '10.0.0.2',
      destPort: 443,
      proto: 'TCP',
      inIface: 'eth0',
      host: 'sensor-1',
      flowId: '18446744073709551615',
    });
    const file = join(dir, 'alert.json');
    await writeFile(file, `${line}\n`);
    const result = await pcapdRequest(['-config', config, '--eve', file, '--dry-run']);
    expect(result.code).toBe(0);
    const request = JSON.parse(result.stdout) as { eve: Record<string, unknown>; bpf?: string };
    expect(request.eve).toMatchObject({ flow_id: '18446744073709551615', src_ip: '10.0.0.1', dest_port: 443, event_type: 'alert' });
    expect(request.bpf).toBeUndefined();

    const broken = join(dir, 'broken-alert.json');
    await writeFile(broken, line.replace('"dest_port":443', '"dest_port":70000'));
    const refused = await pcapdRequest(['-config', config, '--eve', broken, '--dry-run']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('PCAPD_ERR_EVE_INVALID');

    const two = join(dir, 'two-alerts.json');
    await writeFile(two, `${line}\n${line}\n`);
    const usage = await pcapdRequest(['-config', config, '--eve', two, '--dry-run']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('must hold exactly one EVE line, it has 2');
  });

  it("refuses a request here, with the daemon's own code, and sends nothing", async () => {
    const channel = uniqueName('pcapd-test');
    const config = await configFile({ channel: JSON.stringify(channel) });
    const subscriber = newRedis();
    const received: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => received.push(message));
    await subscriber.subscribe(channel);
    try {
      const file = join(dir, 'typo.json');
      await writeFile(file, JSON.stringify({ node: 'sensor-1', interface: ['eth0'], pakets: 5 }));
      const typo = await pcapdRequest(['-config', config, '--file', file]);
      expect(typo.code).toBe(1);
      expect(typo.stderr).toContain('refused here, not sent: PCAPD_ERR_REQUEST_UNKNOWN_FIELD: /pakets: unknown field');

      const bpf = await pcapdRequest(['-config', config, '--node', 'sensor-1', '--interface', 'eth0', '--bpf', 'tcp port']);
      expect(bpf.code).toBe(1);
      expect(bpf.stderr).toContain('PCAPD_ERR_BPF_INVALID');

      const reply = await pcapdRequest(['-config', config, '--node', 'sensor-1', '--interface', 'eth0', '--reply', 'smtp:me']);
      expect(reply.code).toBe(1);
      expect(reply.stderr).toContain('PCAPD_ERR_REPLY_INVALID');
      expect(received).toEqual([]);
    } finally {
      subscriber.disconnect();
    }
  });

  it('exits 2 on a usage error', async () => {
    const config = await configFile({});
    expect((await pcapdRequest(['-config', config, '--pakets', '5'])).code).toBe(2);
    const twoBrokers = join(dir, 'two.toml');
    await writeFile(twoBrokers, '[redis]\nlisten = true\n[kafka]\nlisten = true\n');
    const ambiguous = await pcapdRequest(['-config', twoBrokers, '--node', 'a', '--interface', 'eth0']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('say which listener to send through with --via (redis, kafka are enabled');
  });

  it('says so, and exits 1, when no pcapd is subscribed to the pub/sub channel', async () => {
    const config = await configFile({ channel: JSON.stringify(uniqueName('pcapd-test-nobody')) });
    // [http] is on too (its default): the one broker listener is the default way.
    const result = await pcapdRequest(['-config', config, '--node', 'sensor-1', '--interface', 'eth0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the request is lost (pub/sub keeps nothing)');
  });

  it('gives up waiting after --wait-timeout and exits 1; the request stays queued for a pcapd to read', async () => {
    const stream = uniqueName('pcapd-test-stream');
    const config = await configFile({ mode: '"streams"', stream: JSON.stringify(stream) });
    const redis = newRedis();
    try {
      const result = await pcapdRequest(['-config', config, '--node', 'sensor-1', '--interface', 'eth0', '--wait', '--wait-timeout', '1']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('PCAPD_ERR_WAIT_TIMEOUT: 0 of 1 result event(s) arrived within --wait-timeout');
      // The request is in the stream for a pcapd to read later, its reply channel named in it.
      const entries = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
      expect(entries).toHaveLength(1);
      const request = JSON.parse(entries[0]?.[1][1] ?? '{}') as Record<string, unknown>;
      expect(request['reply']).toMatch(/^redis:pcapd-reply-/);
    } finally {
      await redis.del(stream);
      redis.disconnect();
    }
  });
});
