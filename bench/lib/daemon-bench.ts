/**
 * The frame of a benchmark that drives the real daemon on a veth pair: the
 * checks before (root, the test servers' env), a deadline after which the run
 * gives up, and the teardown that follows whatever happened (daemon stopped,
 * link and folder removed), so a failed or stuck run leaves no namespace,
 * process or capture folder behind.
 */
import { rm } from 'node:fs/promises';

import { startDaemon, type RunningDaemon, type StartOptions } from '../../test/helpers/daemon.js';
import { createTestLink, type TestLink } from '../../test/helpers/netns.js';
import { loadServiceEnv } from './timing.js';

export interface DaemonBench {
  daemon: RunningDaemon;
  /** The daemon's process id, for /proc readings. */
  pid: number;
  link: TestLink;
  /** Aborts when the deadline passes: sampling loops end, teardown follows. */
  deadline: AbortSignal;
}

export interface DaemonBenchSpec {
  /** Names the bench in its messages. */
  name: string;
  /** The whole run gives up after this long, cleans up and exits 1. */
  deadlineSeconds: number;
  /** Uses the test servers (scripts/test-services.sh): their env file is read before the daemon options are built. */
  services?: boolean;
  /** The daemon's config, built once the env is read. */
  daemon?: () => StartOptions;
}

export async function runDaemonBench(spec: DaemonBenchSpec, body: (bench: DaemonBench) => Promise<void>): Promise<void> {
  // Network namespaces and raw capture: without root the first `ip netns add` fails with a less helpful message.
  if (process.getuid?.() !== 0) throw new Error(`${spec.name}: needs root (network namespaces, raw capture)`);
  if (spec.services === true) loadServiceEnv();
  const options = spec.daemon?.() ?? {};
  const link = await createTestLink();
  let daemon: RunningDaemon | undefined;
  const deadline = new AbortController();
  const guard = setTimeout(() => {
    console.error(`${spec.name}: still running after ${spec.deadlineSeconds} s, giving up`);
    deadline.abort();
    process.exitCode = 1;
    void Promise.allSettled([daemon?.stop(), link.destroy()]).then(() => process.exit(1));
  }, spec.deadlineSeconds * 1000);
  try {
    daemon = await startDaemon(options);
    await body({ daemon, pid: daemon.process.pid ?? 0, link, deadline: deadline.signal });
  } finally {
    clearTimeout(guard);
    await daemon?.stop().catch(() => undefined);
    await link.destroy().catch(() => undefined);
    if (daemon) await rm(daemon.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
