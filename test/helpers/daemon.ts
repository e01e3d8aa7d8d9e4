/**
 * Starts the real daemon (bin/pcapd, the compiled dist/) as a child process on
 * a config made from config.example.toml, and talks to its HTTP API.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { StopWaiting, waitFor } from './wait.js';

export const REPO = new URL('../../', import.meta.url).pathname;
export const PCAPD_BIN = join(REPO, 'bin/pcapd');

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface RunningDaemon {
  process: ChildProcess;
  baseUrl: string;
  dir: string;
  captureDir: string;
  configPath: string;
  logs: LogLine[];
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  api(path: string, init?: RequestInit): Promise<{ status: number; body: any }>;
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  waitForState(id: string, states: string[], timeoutMs?: number): Promise<any>;
  stop(): Promise<void>;
}

/**
 * Applies `edits` (section → key → TOML value text) to the example config:
 * replaces an existing `key = …` line in the section or appends it.
 */
export function editToml(text: string, edits: Record<string, Record<string, string>>): string {
  let out = text;
  for (const [section, keys] of Object.entries(edits)) {
    for (const [key, value] of Object.entries(keys)) {
      const header = `[${section}]`;
      const start = out.indexOf(`\n${header}\n`);
      if (start < 0) {
        out += `\n${header}\n${key} = ${value}\n`;
        continue;
      }
      const bodyStart = start + header.length + 2;
      const next = out.slice(bodyStart).search(/\n\[/);
      const bodyEnd = next < 0 ? out.length : bodyStart + next;
      const body = out.slice(bodyStart, bodyEnd);
      const line = new RegExp(`^#?\\s*${key}\\s*=.*$`, 'm');
      const replaced = line.test(body) ? body.replace(line, `${key} = ${value}`) : `${body.trimEnd()}\n${key} = ${value}\n`;
      out = out.slice(0, bodyStart) + replaced + out.slice(bodyEnd);
    }
  }
  return out;
}

export async function exampleConfigWith(edits: Record<string, Record<string, string>>): Promise<string> {
  return editToml(await readFile(join(REPO, 'config.example.toml'), 'utf8'), edits);
}

export interface StartOptions {
  /** section → key → TOML value text, applied to config.example.toml */
  edits?: Record<string, Record<string, string>>;
  /** Raw TOML appended at the end (e.g. [[interface]] blocks). */
  append?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** A command pcapd runs under (e.g. setpriv dropping capabilities), its arguments, then pcapd's. */
  prefix?: string[];
  /** Run in this folder (a restart: the same captures and spool); stop() then leaves it for the caller. */
  dir?: string;
}

export async function startDaemon(options: StartOptions = {}): Promise<RunningDaemon> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'pcapd-daemon-')));
  await mkdir(dir, { recursive: true });
  const captureDir = join(dir, 'captures');
  const configPath = join(dir, 'config.toml');
  const edits = {
    ...options.edits,
    general: { localdir: JSON.stringify(captureDir), ...options.edits?.['general'] },
    http: { port: '0', ...options.edits?.['http'] },
    // Each daemon its own spool: two on one spool refuse to start (PCAPD_ERR_SPOOL_LOCKED).
    spool: { dir: JSON.stringify(join(dir, 'spool')), ...options.edits?.['spool'] },
  };
  await writeFile(configPath, `${await exampleConfigWith(edits)}\n${options.append ?? ''}\n`);
  const [command, ...prefixArgs] = [...(options.prefix ?? []), PCAPD_BIN];
  const child = spawn(command ?? PCAPD_BIN, [...prefixArgs, '-config', configPath, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  const logs: LogLine[] = [];
  let stdoutRest = '';
  child.stdout?.on('data', (data: Buffer) => {
    stdoutRest += data.toString('utf8');
    const lines = stdoutRest.split('\n');
    stdoutRest = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ level: 0, msg: line });
      }
    }
  });
  let stderr = '';
  child.stderr?.on('data', (data: Buffer) => {
    stderr += data.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> =>
    waitFor(
      'a log line',
      () => {
        const found = logs.find(predicate);
        if (found === undefined && (child.exitCode !== null || child.signalCode !== null))
          throw new StopWaiting(`pcapd exited (${child.exitCode ?? child.signalCode}): ${stderr}`);
        return found;
      },
      { timeoutMs, intervalMs: 20, detail: () => `stderr: ${stderr}` },
    );

  const started = await waitForLog((line) => line.msg === 'pcapd started');
  const http = started['http'] as { host: string; port: number } | undefined;
  if (!http) throw new Error('pcapd started without an HTTP listener');
  const baseUrl = `http://127.0.0.1:${http.port}`;

  const api = async (path: string, init?: RequestInit): Promise<{ status: number; body: any }> => {
    const response = await fetch(`${baseUrl}${path}`, init);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (metrics, pcap)
    }
    return { status: response.status, body };
  };

  const waitForState = (id: string, states: string[], timeoutMs = 20_000): Promise<any> => {
    let last: unknown;
    return waitFor(
      `capture ${id} to reach ${states.join('|')}`,
      async () => {
        const { status, body } = await api(`/captures/${id}`);
        last = body;
        return status === 200 && states.includes(body.state) ? body : undefined;
      },
      { timeoutMs, detail: () => `last seen: ${JSON.stringify(last)}` },
    );
  };

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
  };

  return { process: child, baseUrl, dir, captureDir, configPath, logs, exited, api, waitForLog, waitForState, stop };
}

export function postJson(body: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

const execFileAsync = promisify(execFile);

/** Runs `pcapd ARGS…` (a command, not the daemon) to its end: exit code and output. */
export async function runPcapd(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(PCAPD_BIN, args, { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err: unknown) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
