import { describe, expect, it } from 'vitest';

import { run } from './exec.js';

describe("run (the tests' command runner)", () => {
  it('names the Debian package of a missing command instead of a bare ENOENT', async () => {
    await expect(run('pcapd-no-such-command', [])).rejects.toThrow(/pcapd-no-such-command: command not found; install the package that provides it/);
  });

  it('names the package when a command is missing inside a network namespace', async () => {
    const ns = `pcapd-t-exec-${process.pid}`;
    await run('ip', ['netns', 'add', ns]);
    try {
      await expect(run('ip', ['netns', 'exec', ns, 'pcapd-no-such-command'])).rejects.toThrow(/pcapd-no-such-command: command not found/);
    } finally {
      await run('ip', ['netns', 'del', ns]);
    }
  });

  it('reports the command and its stderr when it fails', async () => {
    await expect(run('sh', ['-c', 'echo broken >&2; exit 3'])).rejects.toThrow(/sh -c .* failed: broken/);
  });
});
