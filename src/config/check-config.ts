/**
 * `pcapd check-config FILE`: validate a configuration and show what pcapd
 * would actually run with (defaults filled, flags applied, secrets hidden),
 * so a deployment can be checked before a restart. pcapdaemon never applied
 * its defaults, so seeing them matters when switching.
 */
import { stringify } from 'smol-toml';

import { PcapdError } from '../errors.js';
import type { ConfigOverrides } from './flags.js';
import { DEFAULT_CONFIG_PATH, loadConfigFile, redactConfig } from './load.js';
import { readServiceUnit, servicePathWarnings, systemdDropin, unitSandbox, writablePaths } from './service-paths.js';

/** What to print: the effective config, the directories pcapd writes, or the systemd drop-in for them. */
export type CheckConfigOutput = 'config' | 'writable-paths' | 'systemd-dropin';

/** `warnings` (printed on stderr) do not fail the check: they name a problem the config alone does not cause. */
export type CheckConfigResult = { ok: true; text: string; warnings: string[] } | { ok: false; text: string };

/** Without a path, checks the embedded default (config.example.toml). */
export async function checkConfig(
  path: string | undefined,
  overrides: ConfigOverrides = {},
  output: CheckConfigOutput = 'config',
  unit: { texts: string[] } = readServiceUnit(),
): Promise<CheckConfigResult> {
  const source = path ?? DEFAULT_CONFIG_PATH;
  try {
    const config = await loadConfigFile(source, overrides);
    const sandbox = unitSandbox(unit.texts);
    const warnings = servicePathWarnings(config, sandbox);
    if (output === 'writable-paths')
      return {
        ok: true,
        text: writablePaths(config)
          .map((entry) => entry.path)
          .join('\n'),
        warnings: [],
      };
    if (output === 'systemd-dropin') return { ok: true, text: systemdDropin(config, source, sandbox).trimEnd(), warnings: [] };
    const body = stringify(sortTables(redactConfig(config)));
    return { ok: true, text: `# effective configuration of ${source}\n${body}`, warnings };
  } catch (err: unknown) {
    // The error messages already list every problem with its key path.
    if (err instanceof PcapdError) return { ok: false, text: err.message };
    throw err;
  }
}

/** Sorted sections and keys: the output of two hosts can be diffed line by line. */
function sortTables(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortTables);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([key, child]) => [key, sortTables(child)]));
}
