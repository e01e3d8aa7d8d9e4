import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { PCAPD_BIN } from '../helpers/daemon.js';

const execFileAsync = promisify(execFile);

describe('pcapd help', () => {
  for (const spelling of ['help', '--help', '-help', '-h']) {
    it(`prints the commands for "pcapd ${spelling}" and exits 0`, async () => {
      const { stdout } = await execFileAsync(PCAPD_BIN, [spelling], { timeout: 30_000 });
      expect(stdout).toMatch(/^usage: pcapd \[command\]/);
      for (const command of ['check-config', 'interfaces', 'schema', 'request', 'spool', 'version']) expect(stdout).toContain(command);
    });
  }
});
