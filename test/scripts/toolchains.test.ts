/**
 * The install scripts decide from the machine whether to bring their own Node.js
 * and Go: these run that logic (scripts/lib/node.sh, scripts/services/go.sh)
 * against stand-in binaries, and bin/pcapd's choice of node.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { REPO } from '../helpers/daemon.js';
import { run } from '../helpers/exec.js';

const execFileAsync = promisify(execFile);
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-toolchains-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function stub(name: string, script: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${script}\n`);
  await chmod(path, 0o755);
  return path;
}

/** Runs a bash snippet after sourcing a script library, with the stubs first on PATH. */
async function bashWith(library: string, snippet: string): Promise<string> {
  const prelude = `log() { :; }; die() { echo "die: $*"; exit 1; }; SVC_CACHE='${dir}/cache'; source '${join(REPO, library)}'`;
  const { stdout } = await execFileAsync('bash', ['-c', `${prelude}; ${snippet}`], {
    env: { ...process.env, PATH: `${dir}:${process.env['PATH'] ?? ''}` },
  });
  return stdout.trim();
}

describe('Go for the test servers (scripts/services/go.sh)', () => {
  for (const [version, recent] of [
    ['go1.19.8', false],
    ['go1.24.9', false],
    ['go1.25.0', true],
    ['go1.26.8', true],
    ['go2.0.1', true],
    ['devel', false],
  ] as const) {
    it(`counts ${version} as ${recent ? 'recent enough' : 'too old'} for versitygw`, async () => {
      await stub('go', `[ "$1 $2" = "env GOVERSION" ] && echo ${version}`);
      expect(await bashWith('scripts/services/go.sh', 'go_is_recent && echo yes || echo no')).toBe(recent ? 'yes' : 'no');
    });
  }

  it('counts a missing go as too old', async () => {
    const snippet = 'PATH=/nonexistent; go_is_recent && echo yes || echo no';
    expect(await bashWith('scripts/services/go.sh', snippet)).toBe('no');
  });
});

describe('Node.js for pcapd (scripts/lib/node.sh)', () => {
  it('accepts the node running this suite, which is at least the minimum', async () => {
    expect(await bashWith('scripts/lib/node.sh', 'node_is_recent && echo yes || echo no')).toBe('yes');
  });

  it('refuses a node older than 20.18.1', async () => {
    // A real node, made to report an old version.
    const lie =
      'const code = process.argv.splice(1, 1)[0]; Object.defineProperty(process, "versions", { value: { ...process.versions, node: "18.20.4" } }); eval(code)';
    await stub('node', `exec '${process.execPath}' -e '${lie}' -- "$2" "$3"`);
    expect(await bashWith('scripts/lib/node.sh', 'node_is_recent && echo yes || echo no')).toBe('no');
  });

  it('points native builds at the headers of the node that runs them', async () => {
    const nodedir = await bashWith('scripts/lib/node.sh', 'PCAPD_NODE_PREFIX=/nonexistent; use_node; echo "${npm_config_nodedir:-none}"');
    const expected = join(process.execPath, '..', '..');
    const hasHeaders = (await run('sh', ['-c', `test -f '${expected}/include/node/node_api.h' && echo yes || echo no`])).trim() === 'yes';
    expect(nodedir).toBe(hasHeaders ? expected : 'none');
  });
});

describe('bin/pcapd', () => {
  it("runs the compiled CLI on the node PCAPD_NODE names, with --expose-gc so a delivered capture's memory can be given back", async () => {
    const fake = await stub('fake-node', 'echo "ran: $*"');
    const { stdout } = await execFileAsync(join(REPO, 'bin/pcapd'), ['version'], { env: { ...process.env, PCAPD_NODE: fake } });
    expect(stdout.trim()).toBe(`ran: --expose-gc ${join(REPO, 'dist/cli.js')} version`);
  });
});
