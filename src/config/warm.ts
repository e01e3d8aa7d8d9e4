/**
 * Which interfaces are warm, read from the config's [[interface]] blocks
 * (`warm = true`). Interface names are unique across blocks, so each warm
 * interface has exactly one block with its lookback settings.
 */
import type { Config } from './schema.js';

export type InterfaceEntry = Config['interface'][number];

/** The [[interface]] block that makes `name` warm; undefined when it is not warm. */
export function warmEntryOf(config: Pick<Config, 'interface'>, name: string): InterfaceEntry | undefined {
  return config.interface.find((entry) => entry.warm && entry.name === name);
}

export function warmEntries(config: Pick<Config, 'interface'>): InterfaceEntry[] {
  return config.interface.filter((entry) => entry.warm);
}

/** Memory the warm interfaces' lookback rings take, allocated at startup. */
export function lookbackRingBytes(config: Pick<Config, 'interface'>): number {
  return warmEntries(config).reduce((sum, entry) => sum + entry.lookbackbytes, 0);
}
