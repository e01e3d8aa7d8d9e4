/**
 * What the benchmarks read about a process from /proc: resident memory, and
 * CPU time and context switches summed over its threads.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
if (!(CLOCK_TICKS_PER_SECOND > 0)) throw new Error('getconf CLK_TCK gave no tick rate');

/** Length of one CPU clock tick, the resolution of /proc CPU times. */
export const CLOCK_TICK_MS = 1000 / CLOCK_TICKS_PER_SECOND;

/** VmRSS of `pid` in bytes: what the kernel counts as resident, shared library pages included. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s*(\d+)\s*kB/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kib) * 1024;
}

/** utime and stime of a /proc/PID/stat or /proc/PID/task/TID/stat text, in ms. */
export function statCpuMs(stat: string): { userMs: number; sysMs: number } {
  // The command name (field 2) may contain spaces and parentheses; the fields after its last ")" are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const userTicks = Number(fields[11]);
  const sysTicks = Number(fields[12]);
  if (!Number.isFinite(userTicks) || !Number.isFinite(sysTicks)) throw new Error(`unexpected /proc stat line: ${stat}`);
  return { userMs: userTicks * CLOCK_TICK_MS, sysMs: sysTicks * CLOCK_TICK_MS };
}

/** utime + stime of the whole process `pid` (its threads, ended ones included), in ms. */
export function processCpuMs(pid: number): number {
  const { userMs, sysMs } = statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return userMs + sysMs;
}

/**
 * utime and stime of each live thread of `pid`, in ms, summed by thread name
 * ("NAME user", "NAME sys"). Node's own threads (main, V8 workers, libuv's
 * pool) are all named "node": the main one is reported as "main".
 */
export function threadCpuByName(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = tid === String(pid) ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const { userMs, sysMs } = statCpuMs(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      byName.set(`${name} user`, (byName.get(`${name} user`) ?? 0) + userMs);
      byName.set(`${name} sys`, (byName.get(`${name} sys`) ?? 0) + sysMs);
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return byName;
}

/** Per thread name, the CPU between two readings of threadCpuByName (threads that ended in between are not counted). */
export function threadCpuDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [name, ms] of after) delta.set(name, ms - (before.get(name) ?? 0));
  return delta;
}

function contextSwitches(status: string, key: 'voluntary_ctxt_switches' | 'nonvoluntary_ctxt_switches'): number {
  return Number(new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(status)?.[1] ?? 0);
}

/** Voluntary context switches so far (each a sleep the thread was woken from), of the main thread and of all threads of `pid`. */
export function voluntaryWakeups(pid: number): { main: number; all: number } {
  let main = 0;
  let all = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const count = contextSwitches(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'), 'voluntary_ctxt_switches');
      all += count;
      if (tid === String(pid)) main += count;
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return { main, all };
}

export interface ThreadUsage {
  cpuMs: number;
  wakeups: number;
}

/** CPU (utime + stime) and context switches (voluntary + involuntary) of every thread of `pid`, so far. */
export function threadUsage(pid: number): ThreadUsage {
  let cpuMs = 0;
  let wakeups = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const { userMs, sysMs } = statCpuMs(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      cpuMs += userMs + sysMs;
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      wakeups += contextSwitches(status, 'voluntary_ctxt_switches') + contextSwitches(status, 'nonvoluntary_ctxt_switches');
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return { cpuMs, wakeups };
}
