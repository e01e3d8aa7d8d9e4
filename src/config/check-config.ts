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

export type CheckConfigResult = { ok: true; text: string } | { ok: false; text: string };

/** Without a path, checks the embedded default (config.example.toml). */
export async function checkConfig(
  path: string | undefined,
  overrides: ConfigOverrides = {},
): Promise<CheckConfigResult> {
  const source = path ?? DEFAULT_CONFIG_PATH;
  try {
    const config = await loadConfigFile(source, overrides);
    const body = stringify(sortTables(redactConfig(config)));
    return { ok: true, text: `# effective configuration of ${source}\n${body}` };
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
