/**
 * The systemd unit and the config agree on where pcapd writes: a localdir
 * outside /var/lib/pcapd works under the unit's own sandbox once the drop-in
 * scripts/install-service.sh writes (`pcapd check-config --systemd-dropin`)
 * allows it, fails with a clear error without it, and `pcapd check-config`
 * warns before that happens. systemd is not PID 1 here, so the unit's file
 * system is reproduced from its own lines (test/helpers/unit-sandbox.ts).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { checkConfig } from '../../src/config/check-config.js';
import { parseConfigText } from '../../src/config/load.js';
import { servicePathWarnings, systemdDropin, unitSandbox } from '../../src/config/service-paths.js';
import { readPackets } from '../helpers/capture-files.js';
import { exampleConfigWith, PCAPD_BIN, postJson, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { run } from '../helpers/exec.js';
import { TEST_FILTER, writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, type TestLink } from '../helpers/netns.js';
import { sandboxPrefix, SHIPPED_UNIT, shippedUnitSandbox } from '../helpers/unit-sandbox.js';

/** Outside /var/lib/pcapd, and sharing its prefix: a path check by string prefix would pass it. */
const ROOT_PREFIX = '/var/lib/pcapd-test-';

let root: string;
let link: TestLink;
let daemon: RunningDaemon | undefined;

beforeAll(async () => {
  root = await mkdtemp(ROOT_PREFIX);
  link = await createTestLink();
});

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

afterAll(async () => {
  await link?.destroy();
  await rm(root, { recursive: true, force: true });
});

/** A config as startDaemon writes it into `dir`: localdir dir/captures, spool dir/spool. */
async function configIn(dir: string): Promise<{ path: string; edits: Record<string, Record<string, string>> }> {
  const edits = { general: { node: '"sensor-unit"', writelocal: 'true' } };
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'config.toml');
  await writeFile(
    path,
    await exampleConfigWith({
      ...edits,
      general: { ...edits.general, localdir: JSON.stringify(join(dir, 'captures')) },
      spool: { dir: JSON.stringify(join(dir, 'spool')) },
    }),
  );
  return { path, edits };
}

async function captureOnce(running: RunningDaemon, id: string): Promise<any> {
  const armed = await running.api('/captures?wait=armed', postJson({ node: 'any', interface: [link.hostIf], bpf: TEST_FILTER, packets: 5, id }));
  expect(armed.body).toMatchObject({ state: 'capturing' });
  const traffic = join(running.dir, `${id}.pcap`);
  await writeTrafficPcap(traffic, 5, 100);
  await link.replay(traffic);
  return running.waitForState(id, ['done', 'failed']);
}

describe('the shipped unit, read as systemd reads it', () => {
  it('writes only /var/lib/pcapd, with a private /tmp, and a drop-in adds to it', async () => {
    const unit = await readFile(SHIPPED_UNIT, 'utf8');
    expect(unit).toMatch(/^ProtectSystem=strict$/m);
    expect(unitSandbox([unit])).toEqual({ protectSystem: 'strict', privateTmp: true, writable: ['/var/lib/pcapd'] });
    expect(unitSandbox([unit, '[Service]\nReadWritePaths=/srv/a "/srv/b c"\n']).writable).toEqual(['/var/lib/pcapd', '/srv/a', '/srv/b c']);
    expect(unitSandbox([unit, '[Service]\nReadWritePaths=\nReadWritePaths=-/srv/a\n']).writable).toEqual(['/srv/a', '/var/lib/pcapd']);
  });
});

describe('pcapd check-config and the unit', () => {
  it('warns, naming the fix, when localdir or the spool is outside what the unit can write, and still exits 0', async () => {
    const { path } = await configIn(join(root, 'warn'));
    const result = await run('sh', ['-c', `${PCAPD_BIN} check-config ${path} 2>&1 >/dev/null; echo "exit=$?"`]);
    expect(result).toContain(
      `pcapd: warning: general.localdir = ${join(root, 'warn', 'captures')} is read-only under the systemd unit (ProtectSystem=strict; writable: /var/lib/pcapd)`,
    );
    expect(result).toContain(`spool.dir = ${join(root, 'warn', 'spool')} is read-only`);
    expect(result).toContain('add it to ReadWritePaths= in a drop-in (sudo scripts/install-service.sh writes /etc/systemd/system/pcapd.service.d/paths.conf');
    expect(result).toContain('exit=0');
  });

  it('does not warn once the drop-in covers the paths, nor for the embedded default', async () => {
    const { path } = await configIn(join(root, 'covered'));
    const dropin = await run(PCAPD_BIN, ['check-config', path, '--systemd-dropin']);
    const unit = await readFile(SHIPPED_UNIT, 'utf8');
    const covered = await checkConfig(path, {}, 'config', { texts: [unit, dropin] });
    expect(covered).toMatchObject({ ok: true, warnings: [] });
    expect(await checkConfig(undefined, {}, 'config', { texts: [unit] })).toMatchObject({ ok: true, warnings: [] });
  });

  it('warns about a path in the private /tmp even when a drop-in names it, and leaves it out of the drop-in', () => {
    const config = parseConfigText('[general]\nwritelocal = true\nlocaldir = "/tmp"\n', 'pcapdaemon-like');
    const sandbox = unitSandbox(['[Service]\nProtectSystem=strict\nPrivateTmp=yes\nReadWritePaths=/var/lib/pcapd /tmp\n']);
    expect(servicePathWarnings(config, sandbox)).toEqual([expect.stringMatching(/^general\.localdir = \/tmp is in the systemd unit's private \/tmp/)]);
    expect(systemdDropin(config, 'x.toml', sandbox)).toMatch(/^# general\.localdir = \/tmp is in the unit's private \/tmp \(PrivateTmp=yes\): not added/m);
    expect(systemdDropin(config, 'x.toml', sandbox)).toMatch(/^ReadWritePaths=\/var\/lib\/pcapd\/spool$/m);
  });
});

describe("pcapd under the unit's sandbox", () => {
  it('with the drop-in install-service.sh writes, captures into a localdir outside /var/lib/pcapd, where the config says', async () => {
    const dir = join(root, 'with-dropin');
    const { path, edits } = await configIn(dir);
    // What scripts/install-service.sh does: make the directories pcapd writes, then the drop-in.
    for (const writable of (await run(PCAPD_BIN, ['check-config', path, '--writable-paths'])).trim().split('\n')) await mkdir(writable, { recursive: true });
    const dropin = await run(PCAPD_BIN, ['check-config', path, '--systemd-dropin']);
    expect(dropin).toContain(`ReadWritePaths=${join(dir, 'captures')}\n`);

    daemon = await startDaemon({ dir, edits, prefix: sandboxPrefix(await shippedUnitSandbox([dropin])) });
    const outcome = await captureOnce(daemon, 'unit-dropin');
    expect(outcome).toMatchObject({ state: 'done', reason: 'packets', packets: 5, deliveryFailures: [] });
    const [file] = outcome.deliveries[0].locations as string[];
    expect(file).toMatch(new RegExp(`^${join(dir, 'captures')}/sensor-unit-${link.hostIf}-\\d{8}T\\d{6}Z-unit-dropin\\.pcapng$`));
    // Seen from outside the sandbox: the file is on the host's file system, not in a private mount.
    expect((await stat(file!)).isFile()).toBe(true);
    expect(await readPackets(file!)).toHaveLength(5);
  });

  it("without a drop-in path for localdir, a capture's delivery there fails with EROFS, says how to fix it, and waits in the spool", async () => {
    const dir = join(root, 'without-dropin');
    const { path, edits } = await configIn(dir);
    // The directories exist (as install-service.sh leaves them) but only the spool is allowed:
    // pcapd starts, and the capture's delivery meets the read-only localdir.
    await mkdir(join(dir, 'spool'), { recursive: true });
    await mkdir(join(dir, 'captures'), { recursive: true });
    const spoolOnly = `[Service]\nReadWritePaths=${join(dir, 'spool')}\n`;
    const checked = await checkConfig(path, {}, 'config', { texts: [await readFile(SHIPPED_UNIT, 'utf8'), spoolOnly] });
    expect(checked).toMatchObject({ ok: true, warnings: [expect.stringMatching(/^general\.localdir = .* is read-only under the systemd unit/)] });

    daemon = await startDaemon({ dir, edits, prefix: sandboxPrefix(await shippedUnitSandbox([spoolOnly])) });
    const outcome = await captureOnce(daemon, 'unit-no-dropin');
    expect(outcome.deliveries).toEqual([]);
    // Retriable: the capture waits in the (writable) spool until the directory is allowed.
    expect(outcome.pending).toEqual([
      expect.objectContaining({
        sink: 'local',
        code: 'PCAPD_ERR_SINK_LOCAL',
        message: expect.stringMatching(/\(EROFS\).*add general\.localdir to ReadWritePaths/),
      }),
    ]);
    expect(await readdir(join(dir, 'captures'))).toEqual([]);
  });

  it('without a drop-in path for a localdir that does not exist yet, pcapd refuses to start, saying why', async () => {
    const dir = join(root, 'missing-localdir');
    const { edits } = await configIn(dir);
    await mkdir(join(dir, 'spool'), { recursive: true });
    const spoolOnly = `[Service]\nReadWritePaths=${join(dir, 'spool')}\n`;
    const started = startDaemon({ dir, edits, prefix: sandboxPrefix(await shippedUnitSandbox([spoolOnly])) });
    await expect(started).rejects.toThrow(
      /pcapd exited \(1\): pcapd: local sink: creating general\.localdir \S+\/captures failed \(EROFS\).*add general\.localdir to ReadWritePaths/,
    );
  });
});
