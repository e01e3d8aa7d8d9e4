/**
 * What a cull pass removes, and why (after tstat_cull): entries every sink
 * has ("delivered"), then undelivered ones older than spool.maxage ("age"),
 * then the oldest undelivered ones until the spool fits spool.maxbytes
 * ("size"). Damaged entries are kept for the operator until their age is up.
 * Pure: the daemon and `pcapd spool cull --dry-run` plan with the same code.
 */
import { undeliveredSinks, type SpoolEntry } from './store.js';

export type CullReason = 'delivered' | 'age' | 'size';

export interface CullLimits {
  maxAgeMs: number;
  maxBytes: number;
}

export interface CullItem {
  key: string;
  reason: CullReason;
  bytes: number;
  /** Sinks that never got the capture (empty for "delivered"). */
  undelivered: string[];
  ageMs: number;
}

function spooledAtMs(entry: SpoolEntry): number {
  if (entry.kind === 'invalid') return entry.mtimeMs;
  const at = Date.parse(entry.record.spooledAt);
  return Number.isNaN(at) ? entry.mtimeMs : at;
}

function undelivered(entry: SpoolEntry): string[] {
  return entry.kind === 'valid' ? undeliveredSinks(entry) : [];
}

/**
 * `entries` oldest first (SpoolStore.list order). `busy` entries (a try in
 * progress) are left for the next pass. `extraBytes` reserves room for an
 * entry about to be written.
 */
export function planCull(
  entries: readonly SpoolEntry[],
  nowMs: number,
  limits: CullLimits,
  options: { busy?: ReadonlySet<string>; extraBytes?: number } = {},
): CullItem[] {
  const busy = options.busy ?? new Set<string>();
  const plan: CullItem[] = [];
  const chosen = new Set<string>();
  const take = (entry: SpoolEntry, reason: CullReason): void => {
    chosen.add(entry.key);
    plan.push({ key: entry.key, reason, bytes: entry.bytes, undelivered: undelivered(entry), ageMs: nowMs - spooledAtMs(entry) });
  };
  for (const entry of entries) {
    if (busy.has(entry.key)) continue;
    if (entry.kind === 'valid' && undeliveredSinks(entry).length === 0) take(entry, 'delivered');
    else if (nowMs - spooledAtMs(entry) > limits.maxAgeMs) take(entry, 'age');
  }
  let total = entries.reduce((sum, entry) => sum + (chosen.has(entry.key) ? 0 : entry.bytes), 0) + (options.extraBytes ?? 0);
  for (const entry of entries) {
    if (total <= limits.maxBytes) break;
    if (chosen.has(entry.key) || busy.has(entry.key)) continue;
    take(entry, 'size');
    total -= entry.bytes;
  }
  return plan;
}
