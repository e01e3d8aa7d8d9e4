/**
 * What a fault drill is and what it reports: the counts issue 14 asks for
 * (captures requested, captured, delivered, lost, duplicated in a sink),
 * the steps it took, and the checks that decide whether it passed. Every
 * drill runs against a time budget and undoes what it set up, whatever
 * happened, in the reverse order it was set up.
 */
export interface DrillCounts {
  requested: number;
  /** Captures that ended with a result (state done). */
  captured: number;
  /** Captures every enabled sink has. */
  delivered: number;
  /** Requested but neither captured nor delivered by the end of the drill (goal 0). */
  lost: number;
  /** Extra copies found in a sink beyond one per capture (goal 0). */
  duplicated: number;
  /** Extra copies a sink without idempotent keys (Cloudshark) may hold after a kill, at most one per capture (README, write-ahead). */
  documentedDuplicates: number;
}

export interface DrillReport extends DrillCounts {
  name: string;
  steps: string[];
  /** Failed checks; empty when the drill passed. */
  failures: string[];
  seconds: number;
}

export interface DrillOptions {
  /** How long a sink or broker stays down (the drill: 60 s). */
  outageSeconds: number;
}

export interface DrillContext {
  readonly options: DrillOptions;
  /** Records (and prints) what the drill did. */
  step(text: string): void;
  /** A check the outcome must pass; a failed one fails the drill but lets it go on and clean up. */
  check(what: string, ok: boolean, detail?: unknown): void;
  /** Registers an undo step, run after the drill in reverse order. */
  defer(undo: () => Promise<unknown>): void;
  counts: DrillCounts;
}

export interface Drill {
  name: string;
  /** Longest the drill may take before it is abandoned (and cleaned up). */
  budgetMs(options: DrillOptions): number;
  run(ctx: DrillContext): Promise<void>;
}

export function emptyCounts(): DrillCounts {
  return { requested: 0, captured: 0, delivered: 0, lost: 0, duplicated: 0, documentedDuplicates: 0 };
}

/** Runs one drill within its budget, then its undo steps; never throws. */
export async function runDrill(drill: Drill, options: DrillOptions, print: (line: string) => void = () => undefined): Promise<DrillReport> {
  const startMs = performance.now();
  const steps: string[] = [];
  const failures: string[] = [];
  const undo: Array<() => Promise<unknown>> = [];
  const elapsed = (): string => `${((performance.now() - startMs) / 1000).toFixed(1)}s`;
  const ctx: DrillContext = {
    options,
    counts: emptyCounts(),
    step(text) {
      steps.push(text);
      print(`  [${drill.name} +${elapsed()}] ${text}`);
    },
    check(what, ok, detail) {
      if (ok) return;
      const line = detail === undefined ? what : `${what}: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`;
      failures.push(line);
      print(`  [${drill.name} +${elapsed()}] FAILED ${line}`);
    },
    defer(fn) {
      undo.push(fn);
    },
  };
  const budget = drill.budgetMs(options);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      drill.run(ctx),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`over its ${budget / 1000} s budget`)), budget);
      }),
    ]);
  } catch (err: unknown) {
    failures.push(`aborted: ${err instanceof Error ? err.message : String(err)}`);
    print(`  [${drill.name} +${elapsed()}] ABORTED ${failures.at(-1) ?? ''}`);
  } finally {
    clearTimeout(timer);
  }
  for (const fn of undo.reverse()) {
    await fn().catch((err: unknown) => failures.push(`cleanup: ${err instanceof Error ? err.message : String(err)}`));
  }
  if (ctx.counts.lost > 0) failures.push(`${ctx.counts.lost} capture(s) lost`);
  if (ctx.counts.duplicated > 0) failures.push(`${ctx.counts.duplicated} duplicate(s) in a sink`);
  return { name: drill.name, ...ctx.counts, steps, failures, seconds: (performance.now() - startMs) / 1000 };
}

/** The figures of every drill side by side, one row each. */
export function formatTable(reports: readonly DrillReport[]): string {
  const header = ['drill', 'requested', 'captured', 'delivered', 'lost', 'duplicated', 'documented-dup', 'seconds', 'outcome'];
  const rows = reports.map((r) => [
    r.name,
    String(r.requested),
    String(r.captured),
    String(r.delivered),
    String(r.lost),
    String(r.duplicated),
    String(r.documentedDuplicates),
    r.seconds.toFixed(1),
    r.failures.length === 0 ? 'pass' : `FAIL (${r.failures.length})`,
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
