/**
 * `npx tsx fuzz/run.ts [--cases N] [--seed S] [--target name[,name]] [--path P]`
 *
 * Runs N cases (default 100,000) spread over every entry point
 * (fuzz/targets.ts) and prints, per target, the cases tried, how they ended
 * (accepted, ignored, rejected by code), the slowest case, and every crash
 * with its counterexample, seed and path. Exits 1 when anything crashed.
 *
 * Replay one crash: `--target <name> --seed <seed> --path <path>` as printed.
 */
import { parseArgs } from 'node:util';

import fc from 'fast-check';

import { CODE_ORDER, fuzzWorld, type Outcome, type Target } from './targets.js';

/** Share of the cases each target gets: the cheap pure parsers take most. */
const WEIGHTS: Readonly<Record<string, number>> = { request: 35, intake: 15, eve: 15, signature: 10, http: 15, config: 10 };
/** After a crash, a target goes on with a fresh seed until it has found this many. */
const MAX_CRASHES_PER_TARGET = 5;
/** A case slower than this is listed: it held the event loop for that long. */
const SLOW_CASE_MS = 1_000;
/** A case is a crash when it has not ended by then (a hang). */
const CASE_TIMEOUT_MS = 30_000;

interface Tally {
  cases: number;
  ends: Map<string, number>;
  crashes: string[];
  slowest: { ms: number; input: string };
  slow: number;
  seconds: number;
}

function options(): { cases: number; seed: number; targets: string[] | undefined; path: string | undefined } {
  const { values } = parseArgs({
    options: { cases: { type: 'string' }, seed: { type: 'string' }, target: { type: 'string' }, path: { type: 'string' } },
  });
  const cases = Number(values.cases ?? 100_000);
  const seed = Number(values.seed ?? Date.now() % 2 ** 31);
  if (!Number.isSafeInteger(cases) || cases < 1 || !Number.isSafeInteger(seed)) {
    throw new Error('usage: npx tsx fuzz/run.ts [--cases N] [--seed S] [--target name[,name]] [--path P]');
  }
  return { cases, seed, targets: values.target?.split(','), path: values.path };
}

/** A case as text, bounded; deeply nested inputs overflow fast-check's recursive printer. */
function shown(value: unknown, maxChars: number): string {
  try {
    return fc.stringify(value).slice(0, maxChars);
  } catch {
    try {
      return `${JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))?.slice(0, maxChars) ?? String(value)} (as JSON)`;
    } catch {
      return '(nested too deeply to print)';
    }
  }
}

function endLabel(outcome: Outcome): string {
  return outcome.kind === 'rejected' ? outcome.code : outcome.kind;
}

async function fuzzTarget(target: Target<unknown>, cases: number, seed: number, path: string | undefined): Promise<Tally> {
  const tally: Tally = { cases: 0, ends: new Map(), crashes: [], slowest: { ms: 0, input: '' }, slow: 0, seconds: 0 };
  const started = performance.now();
  let remaining = cases;
  let runSeed = seed;
  while (remaining > 0 && tally.crashes.length < MAX_CRASHES_PER_TARGET) {
    // Cases are counted until the first failure; fast-check's shrinking runs after it are not cases.
    let failed = false;
    const property = fc.asyncProperty(target.arbitrary, async (input) => {
      const t0 = performance.now();
      try {
        const outcome = await target.run(input);
        if (!failed) {
          const label = endLabel(outcome);
          tally.ends.set(label, (tally.ends.get(label) ?? 0) + 1);
        }
      } catch (err: unknown) {
        failed = true;
        throw err;
      } finally {
        const ms = performance.now() - t0;
        if (!failed) {
          tally.cases += 1;
          if (ms > SLOW_CASE_MS) tally.slow += 1;
          if (ms > tally.slowest.ms) tally.slowest = { ms, input: shown(input, 300) };
        }
      }
    });
    const details = await fc.check(property, {
      numRuns: remaining,
      seed: runSeed,
      timeout: CASE_TIMEOUT_MS,
      endOnFailure: false,
      ...(path === undefined ? {} : { path }),
    });
    remaining -= details.numRuns;
    if (!details.failed) break;
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    tally.crashes.push(
      [
        `seed ${details.seed}, path "${details.counterexamplePath ?? ''}" (replay: npx tsx fuzz/run.ts --target ${target.name} --seed ${details.seed} --path "${details.counterexamplePath ?? ''}")`,
        `  counterexample: ${shown(details.counterexample, 2000)}`,
        `  ${error.split('\n').slice(0, 12).join('\n  ')}`,
      ].join('\n'),
    );
    if (path !== undefined) break;
    runSeed += 1_000_003;
  }
  tally.seconds = (performance.now() - started) / 1000;
  return tally;
}

function casesPerTarget(names: string[], total: number): Map<string, number> {
  const weightSum = names.reduce((sum, name) => sum + (WEIGHTS[name] ?? 1), 0);
  return new Map(names.map((name) => [name, Math.max(1, Math.round((total * (WEIGHTS[name] ?? 1)) / weightSum))]));
}

function report(results: Array<[string, Tally]>, seed: number, mismatches: string[]): number {
  const pad = (text: string | number, width: number): string => String(text).padStart(width);
  console.log(`\npcapd fuzz, seed ${seed}`);
  console.log(
    `${'target'.padEnd(10)}${pad('cases', 8)}${pad('accepted', 10)}${pad('ignored', 9)}${pad('rejected', 10)}${pad('crashes', 9)}${pad('slowest ms', 12)}${pad('>1s', 5)}${pad('seconds', 9)}`,
  );
  const totals = new Map<string, number>();
  let cases = 0;
  let crashes = 0;
  for (const [name, tally] of results) {
    const get = (label: string): number => tally.ends.get(label) ?? 0;
    const rejected = [...tally.ends].filter(([label]) => label.startsWith('PCAPD_')).reduce((sum, [, n]) => sum + n, 0);
    const other = get('duplicate') + get('merged');
    console.log(
      `${name.padEnd(10)}${pad(tally.cases, 8)}${pad(get('accepted') + other, 10)}${pad(get('ignored'), 9)}${pad(rejected, 10)}${pad(tally.crashes.length, 9)}${pad(tally.slowest.ms.toFixed(1), 12)}${pad(tally.slow, 5)}${pad(tally.seconds.toFixed(1), 9)}`,
    );
    for (const [label, n] of tally.ends) totals.set(label, (totals.get(label) ?? 0) + n);
    cases += tally.cases;
    crashes += tally.crashes.length;
  }
  console.log(`${'total'.padEnd(10)}${pad(cases, 8)}   crashes ${crashes}`);
  console.log('\nrejections by code (all targets):');
  for (const code of CODE_ORDER) if (totals.has(code)) console.log(`  ${code.padEnd(36)}${pad(totals.get(code) ?? 0, 8)}`);
  console.log('\nrejections by code, per target:');
  for (const [name, tally] of results) {
    const codes = CODE_ORDER.filter((code) => tally.ends.has(code)).map((code) => `${code.replace('PCAPD_ERR_', '')} ${tally.ends.get(code)}`);
    console.log(`  ${name}: ${codes.join(', ') || '-'}`);
  }
  console.log('\nslowest case per target:');
  for (const [name, tally] of results) console.log(`  ${name} ${tally.slowest.ms.toFixed(1)} ms: ${tally.slowest.input}`);
  if (mismatches.length > 0) {
    console.log('\nrejections answered but not counted in pcapd_requests_rejected_total (a crash):');
    for (const line of mismatches) console.log(`  ${line}`);
  }
  for (const [name, tally] of results) {
    for (const crash of tally.crashes) console.log(`\nCRASH in ${name}: ${crash}`);
  }
  return crashes + mismatches.length;
}

async function main(): Promise<void> {
  const { cases, seed, targets: only, path } = options();
  const world = fuzzWorld();
  const targets = world.targets.filter((target) => only === undefined || only.includes(target.name));
  if (targets.length === 0) throw new Error(`no target named ${only?.join(', ')}; targets: ${world.targets.map((t) => t.name).join(', ')}`);
  const split = casesPerTarget(
    targets.map((target) => target.name),
    cases,
  );
  const results: Array<[string, Tally]> = [];
  for (const [i, target] of targets.entries()) {
    // Each target its own seed, printed with any crash, so one target replays alone.
    const targetSeed = only?.length === 1 ? seed : seed + i;
    process.stderr.write(`fuzzing ${target.name}: ${split.get(target.name)} cases, seed ${targetSeed}\n`);
    results.push([target.name, await fuzzTarget(target, split.get(target.name) ?? 1, targetSeed, path)]);
  }
  const mismatches = await world.close();
  const failures = report(results, seed, mismatches);
  process.exitCode = failures > 0 ? 1 : 0;
}

await main();
