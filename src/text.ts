/** Untrusted text quoted in a message stays readable and bounded. */
export function shorten(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Untrusted text in a message: quoted, escaped and short. */
export function quoted(text: string, max = 64): string {
  return JSON.stringify(shorten(text, max));
}

/** A string field that carries a value: pcapdaemon's Go clients send "" for "not set". */
export function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

/**
 * Edit distance with adjacent transpositions counted as one edit (optimal
 * string alignment), so "verison" is one edit from "version" as a person
 * would count it.
 */
export function editDistance(a: string, b: string): number {
  // Rows i-2, i-1 and i of the dynamic-programming table.
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + substitution);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, (before[j - 2] ?? 0) + 1);
      current.push(best);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The candidate a mistyped word most likely meant: the nearest by edit
 * distance (first listed on a tie), if it is within a third of the longer
 * word's length (at least one edit, and never all of it), else undefined:
 * "xyz" suggests nothing rather than an unrelated command.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    const longer = Math.max(word.length, candidate.length);
    // Within a third of the longer word, and sharing at least one letter with it.
    const allowed = Math.min(Math.max(1, Math.floor(longer / 3)), longer - 1);
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `; did you mean X?` for the nearest candidate (each shown with `prefix`), or nothing. */
export function didYouMean(word: string, candidates: readonly string[], prefix = ''): string {
  const match = nearest(word, candidates);
  return match === undefined ? '' : `; did you mean ${prefix}${match}?`;
}

/** A size for a person: "512 B", "3.2 MiB". */
export function bytesText(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** An age for a person: "42s", "15m", "6h", "3d". */
export function ageText(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}
