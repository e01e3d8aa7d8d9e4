/**
 * What the benchmarks read about a process from /proc: resident memory, and
 * CPU time and context switches summed over its threads.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** Length of one CPU clock tick, the resolution of /proc CPU times. */
export const CLOCK_TICK_MS = 1000 / CLOCK_TICKS_PER_SECOND;

/** VmRSS of `pid` in bytes: what the kernel counts as resident, shared library pages included. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s*(\d+)\s*kB/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kib) * 1024;
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
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpuMs += (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      for (const key of ['voluntary_ctxt_switches', 'nonvoluntary_ctxt_switches']) {
        wakeups += Number(new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(status)?.[1] ?? 0);
      }
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return { cpuMs, wakeups };
}
