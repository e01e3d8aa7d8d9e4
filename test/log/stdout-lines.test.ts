/**
 * Log lines are written in batches: info lines wait up to FLUSH_WITHIN_MS,
 * a warning or worse goes out at once with everything before it, order is
 * kept, and nothing buffered is lost when the process exits.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterEach, describe, expect, it } from 'vitest';

import { FLUSH_WITHIN_MS, stdoutLines } from '../../src/log/stdout-lines.js';
import { REPO } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

const line = (level: number, msg: string): string => `${JSON.stringify({ level, time: '2026-11-30T09:00:00.000Z', msg })}\n`;

describe('stdoutLines', () => {
  const fds: number[] = [];
  afterEach(() => {
    for (const fd of fds.splice(0)) closeSync(fd);
  });

  async function fileWriter(): Promise<{ read(): string; writer: ReturnType<typeof stdoutLines> }> {
    const path = join(await mkdtemp(join(tmpdir(), 'pcapd-stdout-')), 'out');
    const fd = openSync(path, 'w');
    fds.push(fd);
    return { read: () => readFileSync(path, 'utf8'), writer: stdoutLines(fd) };
  }

  it('holds info lines and writes them together, in order, within the flush interval', async () => {
    const { read, writer } = await fileWriter();
    writer.write(line(30, 'armed'));
    writer.write(line(20, 'debug'));
    writer.write(line(30, 'ended'));
    expect(read()).toBe('');
    const started = Date.now();
    await waitFor('the batch', () => (read() === '' ? undefined : true), FLUSH_WITHIN_MS * 20);
    expect(Date.now() - started).toBeLessThan(FLUSH_WITHIN_MS * 10);
    expect(read()).toBe(line(30, 'armed') + line(20, 'debug') + line(30, 'ended'));
    writer.close();
  });

  it('writes a warning, an error or a fatal line at once, after the lines held before it', async () => {
    for (const level of [40, 50, 60]) {
      const { read, writer } = await fileWriter();
      writer.write(line(30, 'before'));
      writer.write(line(level, 'trouble'));
      expect(read()).toBe(line(30, 'before') + line(level, 'trouble'));
      writer.close();
    }
  });

  it('writes what it holds when closed, and every later line at once', async () => {
    const { read, writer } = await fileWriter();
    writer.write(line(30, 'last words'));
    writer.close();
    expect(read()).toBe(line(30, 'last words'));
    writer.write(line(30, 'after close'));
    expect(read()).toBe(line(30, 'last words') + line(30, 'after close'));
  });

  it('writes the lines it holds when the process exits right after logging them', async () => {
    const script = `import { stdoutLines } from ${JSON.stringify(join(REPO, 'src/log/stdout-lines.ts'))};
      const out = stdoutLines(1);
      for (let i = 0; i < 1000; i++) out.write(JSON.stringify({ level: 30, msg: 'line ' + i }) + '\\n');
      process.exit(3);`;
    const { stdout, code } = await promisify(execFile)(join(REPO, 'node_modules/.bin/tsx'), ['--eval', script], { cwd: REPO }).then(
      (done) => ({ stdout: done.stdout, code: 0 }),
      (err: { stdout: string; code: number }) => ({ stdout: err.stdout, code: err.code }),
    );
    expect(code).toBe(3);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1000);
    expect(lines[999]).toBe(JSON.stringify({ level: 30, msg: 'line 999' }));
  });
});
