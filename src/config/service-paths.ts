/**
 * Where pcapd writes, against where the systemd unit lets it write.
 *
 * The shipped unit (scripts/systemd/pcapd.service) makes the whole file system
 * read-only but /var/lib/pcapd (ProtectSystem=strict, ReadWritePaths=) and
 * gives pcapd a /tmp of its own (PrivateTmp=yes). A `localdir` or spool
 * elsewhere then fails with EROFS, or lands in a /tmp no one else sees and
 * that is gone at the next stop: pcapdaemon's own example config writes to
 * /tmp. scripts/install-service.sh writes a drop-in adding the configured
 * paths (`pcapd check-config --systemd-dropin`), and `pcapd check-config`
 * warns about any path no unit line or drop-in covers.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Config } from './schema.js';

export const UNIT_NAME = 'pcapd.service';
export const INSTALLED_UNIT_DIR = '/etc/systemd/system';
/** The drop-in scripts/install-service.sh writes. */
export const DROPIN_NAME = 'paths.conf';
/** The unit in this package (same depth from src/ and dist/). */
export const SHIPPED_UNIT_PATH = fileURLToPath(new URL('../../scripts/systemd/pcapd.service', import.meta.url));

export interface WritablePath {
  /** The config key that names it. */
  key: string;
  path: string;
}

/** Every directory this configuration makes pcapd write to. */
export function writablePaths(config: Config): WritablePath[] {
  const paths: WritablePath[] = [];
  if (config.general.writelocal) paths.push({ key: 'general.localdir', path: resolve(config.general.localdir) });
  // The spool is opened (and locked) at every start, whichever sinks are enabled.
  paths.push({ key: 'spool.dir', path: resolve(config.spool.dir) });
  return paths;
}

/** The file-system properties of a unit (its file and drop-ins, in order) that decide where it can write. */
export interface UnitSandbox {
  protectSystem: string;
  privateTmp: boolean;
  /** ReadWritePaths= entries, plus /var/lib/<StateDirectory=>. */
  writable: string[];
}

/**
 * Reads the [Service] lines that matter, with systemd's rules for lists: each
 * assignment appends, an empty one resets; "-" (ignore if missing) and "+"
 * prefixes are dropped; words may be double-quoted.
 */
export function unitSandbox(unitTexts: readonly string[]): UnitSandbox {
  const sandbox: UnitSandbox = { protectSystem: 'no', privateTmp: false, writable: [] };
  let readWrite: string[] = [];
  let state: string[] = [];
  for (const text of unitTexts) {
    let inService = false;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line.startsWith('[')) inService = line === '[Service]';
      const match = /^([A-Za-z]+)\s*=\s*(.*)$/.exec(line);
      if (!inService || !match) continue;
      const [, key, value = ''] = match;
      if (key === 'ProtectSystem') sandbox.protectSystem = value === 'yes' || value === 'true' ? 'yes' : value;
      else if (key === 'PrivateTmp') sandbox.privateTmp = ['yes', 'true', '1', 'on'].includes(value);
      else if (key === 'ReadWritePaths') readWrite = value === '' ? [] : [...readWrite, ...unitWords(value)];
      else if (key === 'StateDirectory') state = value === '' ? [] : [...state, ...unitWords(value).map((name) => join('/var/lib', name))];
    }
  }
  sandbox.writable = [...new Set([...readWrite, ...state].map((path) => path.replace(/^[-+]+/, '')))];
  return sandbox;
}

function unitWords(value: string): string[] {
  return [...value.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1'));
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function inPrivateTmp(sandbox: UnitSandbox, path: string): boolean {
  return sandbox.privateTmp && ['/tmp', '/var/tmp'].some((tmp) => isInside(tmp, path));
}

/** One line per configured path the unit cannot write, or writes only into its private /tmp, with the fix. */
export function servicePathWarnings(config: Config, sandbox: UnitSandbox): string[] {
  const warnings: string[] = [];
  const fix = `add it to ReadWritePaths= in a drop-in (sudo scripts/install-service.sh writes ${join(INSTALLED_UNIT_DIR, `${UNIT_NAME}.d`, DROPIN_NAME)} from this config)`;
  for (const { key, path } of writablePaths(config)) {
    // PrivateTmp wins over ReadWritePaths: a /tmp path stays the private one whatever a drop-in says.
    if (inPrivateTmp(sandbox, path)) {
      warnings.push(
        `${key} = ${path} is in the systemd unit's private /tmp (PrivateTmp=yes): files there are seen by no other process and removed when pcapd stops; choose a directory under /var/lib/pcapd, or another one and ${fix}`,
      );
    } else if (sandbox.writable.some((root) => isInside(root, path))) {
      continue;
    } else if (sandbox.protectSystem === 'strict' || (sandbox.protectSystem === 'full' && isUnderSystemDirs(path))) {
      warnings.push(
        `${key} = ${path} is read-only under the systemd unit (ProtectSystem=${sandbox.protectSystem}; writable: ${sandbox.writable.join(' ')}): ${fix}`,
      );
    }
  }
  return warnings;
}

function isUnderSystemDirs(path: string): boolean {
  return ['/usr', '/boot', '/efi', '/etc'].some((root) => isInside(root, path));
}

/**
 * The unit as systemd would run it: the installed unit and its drop-ins when
 * pcapd is installed as a service, else the shipped unit (what installing it
 * would give).
 */
export function readServiceUnit(unitDir = INSTALLED_UNIT_DIR): { source: string; texts: string[] } {
  const installed = join(unitDir, UNIT_NAME);
  if (!existsSync(installed)) return { source: SHIPPED_UNIT_PATH, texts: existsSync(SHIPPED_UNIT_PATH) ? [readFileSync(SHIPPED_UNIT_PATH, 'utf8')] : [] };
  const dropinDir = `${installed}.d`;
  const dropins = existsSync(dropinDir)
    ? readdirSync(dropinDir)
        .filter((name) => name.endsWith('.conf'))
        .sort()
        .map((name) => readFileSync(join(dropinDir, name), 'utf8'))
    : [];
  return { source: installed, texts: [readFileSync(installed, 'utf8'), ...dropins] };
}

/** The drop-in that lets the unit write every path this config writes (a path in its private /tmp cannot be). */
export function systemdDropin(config: Config, configSource: string, sandbox: UnitSandbox): string {
  const lines = writablePaths(config).map(({ key, path }) =>
    inPrivateTmp(sandbox, path)
      ? `# ${key} = ${path} is in the unit's private /tmp (PrivateTmp=yes): not added; pcapd check-config warns about it`
      : `# ${key}\nReadWritePaths=${quoteUnitWord(path)}`,
  );
  return [
    `# Written by scripts/install-service.sh from ${configSource} (pcapd check-config --systemd-dropin):`,
    '# the directories pcapd writes, beside /var/lib/pcapd which pcapd.service already allows.',
    '[Service]',
    ...lines,
    '',
  ].join('\n');
}

function quoteUnitWord(path: string): string {
  return /^[^\s"'\\]+$/.test(path) ? path : `"${path.replace(/["\\]/g, '\\$&')}"`;
}
