/**
 * Runs a command with the file-system view the systemd unit gives pcapd, where
 * systemd is not PID 1 and `systemd-run` cannot: a private mount namespace
 * (`unshare -m`, private propagation, so nothing reaches the host) in which
 *   PrivateTmp=yes        mounts an empty tmpfs on /tmp and /var/tmp,
 *   ReadWritePaths= …     bind-mounts each path onto itself (its own mount),
 *   ProtectSystem=strict  remounts every other mount read-only, but /proc,
 *                         /sys and /dev (the API file systems strict spares).
 * The properties are read from the unit file and drop-ins (unitSandbox, the
 * same reader `pcapd check-config` uses), never restated here. The command
 * still runs as root with every capability: only the file system is the unit's.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { unitSandbox, type UnitSandbox } from '../../src/config/service-paths.js';
import { REPO } from './daemon.js';

export const SHIPPED_UNIT = join(REPO, 'scripts/systemd/pcapd.service');

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The sandbox the shipped unit plus these drop-ins describe. */
export async function shippedUnitSandbox(dropins: readonly string[] = []): Promise<UnitSandbox> {
  return unitSandbox([await readFile(SHIPPED_UNIT, 'utf8'), ...dropins]);
}

/** A command prefix (for startDaemon's `prefix`) running the rest inside the sandbox. */
export function sandboxPrefix(sandbox: UnitSandbox): string[] {
  if (sandbox.protectSystem !== 'strict') throw new Error(`unit-sandbox reproduces ProtectSystem=strict only, the unit says ${sandbox.protectSystem}`);
  const writable = sandbox.writable.map(shellQuote).join(' ');
  const script = [
    'set -eu',
    sandbox.privateTmp ? 'for d in /tmp /var/tmp; do mount -t tmpfs -o mode=1777 pcapd-private-tmp "$d"; done' : ':',
    // systemd creates StateDirectory= and refuses a missing ReadWritePaths= entry; neither
    // exists unless made, and a missing one simply stays read-only here.
    `for p in ${writable}; do if [ -d "$p" ]; then mount --bind "$p" "$p"; fi; done`,
    `rw=" $(for p in ${writable}; do printf '%s ' "$p"; done)"`,
    "awk '{ print $5 }' /proc/self/mountinfo | sort -u | while read -r mp; do",
    '  case "$mp" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac',
    sandbox.privateTmp ? '  case "$mp" in /tmp|/var/tmp) continue ;; esac' : '',
    '  case "$rw" in *" $mp "*) continue ;; esac',
    // Some special mounts (nsfs under /run/netns) refuse a remount; nothing is written through them.
    '  mount -o remount,bind,ro "$mp" 2>/dev/null || true',
    'done',
    'exec "$@"',
  ].join('\n');
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'unit-sandbox'];
}
