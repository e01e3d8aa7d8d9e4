/**
 * Small summaries for benchmark samples. Benchmarks report a median with the
 * min–max spread rather than a mean: with a handful of samples on a shared
 * machine one outlier would move a mean, and the spread shows how far to
 * trust the median.
 */

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Finite values the summary was taken over. */
  count: number;
}

/** Median and range of the finite values; null when there are none. */
export function spread(values: readonly number[]): Spread | null {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  const count = sorted.length;
  if (count === 0) return null;
  const middle = Math.floor(count / 2);
  const median = count % 2 === 1 ? (sorted[middle] ?? NaN) : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
  return { median, min: sorted[0] ?? NaN, max: sorted[count - 1] ?? NaN, count };
}

/** `a / b` per pair, NaN where `b` is zero (the pair says nothing about a ratio). */
export function pairedRatios(numerators: readonly number[], denominators: readonly number[]): number[] {
  if (numerators.length !== denominators.length) {
    throw new Error(`pairedRatios: ${numerators.length} numerators vs ${denominators.length} denominators`);
  }
  return numerators.map((value, index) => {
    const base = denominators[index] ?? 0;
    return base === 0 ? NaN : value / base;
  });
}

/** "median (min–max)", or "n/a" when there was nothing to summarise. */
export function formatSpread(summary: Spread | null, fractionDigits = 0): string {
  if (summary === null) return 'n/a';
  const fmt = (value: number): string => value.toFixed(fractionDigits);
  return `${fmt(summary.median)} (${fmt(summary.min)}–${fmt(summary.max)})`;
}
