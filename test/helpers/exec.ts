import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * Every external command the tests run, with the Debian package that brings it
 * (`scripts/install.sh --test` installs them all). A missing one is reported by
 * its package, before the suite starts and again at the call, never as a bare ENOENT.
 */
export const TEST_COMMANDS: Readonly<Record<string, string>> = {
  ip: 'iproute2',
  setpriv: 'util-linux',
  tc: 'iproute2',
  llc: 'llvm',
  sysctl: 'procps',
  tshark: 'tshark',
  capinfos: 'wireshark-common (comes with tshark)',
  editcap: 'wireshark-common (comes with tshark)',
  tcpreplay: 'tcpreplay',
  tcpdump: 'tcpdump',
  ping: 'iputils-ping',
  daemonize: 'daemonize',
  'systemd-analyze': 'systemd',
  mount: 'mount',
  umount: 'mount',
  getconf: 'libc-bin',
  sh: 'dash',
  faketime: 'faketime',
};

function onPath(command: string): boolean {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** The commands in TEST_COMMANDS that are not on PATH, each with its package. */
export function missingTestCommands(): string[] {
  return Object.entries(TEST_COMMANDS)
    .filter(([command]) => !onPath(command))
    .map(([command, pkg]) => `${command} (Debian package ${pkg})`);
}

// Under `npm run test:asan` the sanitizer runtime is preloaded into node; the
// tools the tests call (ip, tcpreplay, tshark) must not inherit it (they hang
// or crash under a foreign ASan runtime).
function childEnv(): NodeJS.ProcessEnv {
  const { LD_PRELOAD: _preload, ...env } = process.env;
  return env;
}

// `ip netns exec NS CMD` reports a missing CMD on stderr rather than as ENOENT.
const NETNS_EXEC_MISSING = /exec of "([^"]+)" failed: No such file or directory/;

function missingCommandMessage(command: string, err: unknown, stderr: string): string | undefined {
  const missing = typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT' ? command : NETNS_EXEC_MISSING.exec(stderr)?.[1];
  if (missing === undefined) return undefined;
  const pkg = TEST_COMMANDS[missing];
  return `${missing}: command not found; install ${pkg === undefined ? 'the package that provides it' : `the Debian package ${pkg}`} (scripts/install.sh --test installs every test tool)`;
}

/** Runs a command; rejects with its stderr when it fails. */
export async function run(command: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, env: childEnv() });
    return stdout;
  } catch (err: unknown) {
    const stderr = typeof err === 'object' && err !== null && 'stderr' in err ? String(err.stderr) : '';
    const message = missingCommandMessage(command, err, stderr) ?? `${command} ${args.join(' ')} failed: ${stderr || String(err)}`;
    throw new Error(message, { cause: err });
  }
}
