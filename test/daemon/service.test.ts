/**
 * Running pcapd as a service: detached through daemonize (pcapdaemon's
 * documented way), the systemd unit as systemd itself checks it, and the
 * check-config command operators run before a restart.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readPackets } from '../helpers/capture-files.js';
import { exampleConfigWith, PCAPD_BIN, REPO } from '../helpers/daemon.js';
import { run } from '../helpers/exec.js';
import { waitFor } from '../helpers/wait.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-service-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('daemonize', () => {
  it('runs pcapd detached, serves a capture, and stops on SIGTERM from its pid file', async () => {
    const captures = join(dir, 'captures');
    const config = join(dir, 'daemonize.toml');
    await writeFile(config, await exampleConfigWith({ general: { localdir: JSON.stringify(captures) }, http: { port: '0' } }));
    const [out, err, pidFile] = [join(dir, 'stdout.log'), join(dir, 'stderr.log'), join(dir, 'pcapd.pid')];
    await run('daemonize', ['-c', dir, '-o', out, '-e', err, '-p', pidFile, PCAPD_BIN, '-config', config]);

    const port = await waitFor(
      'the "pcapd started" line',
      async () => {
        const started = (await readFile(out, 'utf8')).split('\n').find((line) => line.includes('"pcapd started"'));
        return started ? (JSON.parse(started) as { http: { port: number } }).http.port : undefined;
      },
      15_000,
    );
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    expect(pid).toBeGreaterThan(1);

    const base = `http://127.0.0.1:${port}`;
    const submitted = await fetch(`${base}/captures`, {
      method: 'POST',
      body: JSON.stringify({ node: 'any', interface: ['lo'], bpf: 'icmp', packets: 2, id: 'daemonized' }),
    });
    expect(submitted.status).toBe(202);
    await waitFor(
      'the capture to arm',
      async () => ((await (await fetch(`${base}/captures/daemonized`)).json()) as { state: string }).state === 'capturing',
      10_000,
    );
    await run('ping', ['-c', '2', '-i', '0.2', '127.0.0.1']);
    const outcome = await waitFor(
      'the capture to finish',
      async () => {
        const body = (await (await fetch(`${base}/captures/daemonized`)).json()) as { state: string; deliveries: Array<{ locations: string[] }> };
        return body.state === 'done' ? body : undefined;
      },
      10_000,
    );
    const path = outcome.deliveries[0]?.locations[0];
    expect((await readPackets(path!)).length).toBe(2);

    process.kill(pid, 'SIGTERM');
    await waitFor(
      'pcapd to exit',
      async () => {
        try {
          process.kill(pid, 0);
          return undefined;
        } catch {
          return true;
        }
      },
      20_000,
    );
    expect(await readFile(out, 'utf8')).toContain('"pcapd stopped"');
  });
});

describe('the systemd unit', () => {
  it('passes systemd-analyze verify and grants only CAP_NET_RAW and CAP_NET_ADMIN', async () => {
    const unit = await readFile(join(REPO, 'scripts/systemd/pcapd.service'), 'utf8');
    expect(unit).toMatch(/^AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN$/m);
    expect(unit).toMatch(/^CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN$/m);
    expect(unit).toMatch(/^User=pcapd$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    // Verified as installed, with /opt/pcapd pointing at this checkout so the
    // binaries systemd checks for exist.
    const local = join(dir, 'pcapd.service');
    await writeFile(local, unit.replaceAll('/opt/pcapd/', REPO));
    const output = await run('systemd-analyze', ['verify', local]);
    expect(output.trim()).toBe('');
  });
});

describe('pcapd check-config', () => {
  it('prints the effective config of the example and exits 0', async () => {
    const output = await run(PCAPD_BIN, ['check-config', join(REPO, 'config.example.toml')]);
    expect(output).toMatch(/^# effective configuration of /);
    expect(output).toMatch(/^\[general\]$/m);
    expect(output).toMatch(/^maxpackets = 50000$/m);
  });

  it('lists every error with its key path and exits 1', async () => {
    const bad = join(dir, 'bad.toml');
    await writeFile(bad, '[general]\nmaxpakets = 1\nsnaplength = -5\n[redis]\nport = "6379"\n');
    const result = await run('sh', ['-c', `${PCAPD_BIN} check-config ${bad} 2>&1; echo "exit=$?"`]);
    expect(result).toContain('general.maxpakets: unknown key');
    expect(result).toContain('general.snaplength: must be >= 1 (got -5)');
    expect(result).toContain('redis.port: expected a number (got a string)');
    expect(result).toContain('exit=1');
  });
});
