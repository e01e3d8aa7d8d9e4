/**
 * The fault drills (issue 14), one after another, against the real daemon
 * and the running test servers; each prints what it did and its figures,
 * and the table at the end puts them side by side.
 *
 *   npx tsx drills/run.ts                     every drill (about 4 minutes; the sink outage is 60 s)
 *   npx tsx drills/run.ts spool-disk-full …   only the drills named
 *   DRILL_OUTAGE_SECONDS=10 npx tsx drills/run.ts   shorter outages
 *
 * Needs root (netns, tmpfs, faketime) and the test servers' addresses
 * (set -a && . /var/tmp/pcapd-test-services/env && set +a). The shared
 * servers are never stopped: outages are made with TCP proxies in front of them.
 */
import { execFileSync } from 'node:child_process';

import { REPO } from '../test/helpers/daemon.js';
import { destroyAllTestLinks } from '../test/helpers/netns.js';
import { brokerRestarts } from './broker-restart.js';
import { clockSteps } from './clock-step.js';
import { localDiskFull, spoolDiskFull } from './disk-full.js';
import { interfaceRemoval } from './interface-removal.js';
import { formatTable, runDrill, type Drill, type DrillReport } from './lib/drill.js';
import { sinkOutage } from './sink-outage.js';
import { killedDuringCapture, killedDuringDelivery } from './sigkill.js';

const ALL: readonly Drill[] = [
  sinkOutage,
  killedDuringCapture,
  killedDuringDelivery,
  ...brokerRestarts,
  spoolDiskFull,
  localDiskFull,
  interfaceRemoval,
  clockSteps,
];
/** The whole run is abandoned past this, whatever a drill's own budget says. */
const TOTAL_BUDGET_MS = 10 * 60_000;

async function main(): Promise<number> {
  const names = process.argv.slice(2);
  const unknown = names.filter((name) => !ALL.some((drill) => drill.name === name));
  if (unknown.length > 0) {
    console.error(`unknown drill(s): ${unknown.join(', ')}; drills: ${ALL.map((drill) => drill.name).join(', ')}`);
    return 2;
  }
  const outageSeconds = Number(process.env['DRILL_OUTAGE_SECONDS'] ?? 60);
  const chosen = names.length === 0 ? ALL : ALL.filter((drill) => names.includes(drill.name));
  // The daemon runs from dist/: build it from this tree first, as the test suite's setup does.
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO, stdio: 'inherit' });
  const deadline = performance.now() + TOTAL_BUDGET_MS;
  const reports: DrillReport[] = [];
  for (const drill of chosen) {
    if (performance.now() + drill.budgetMs({ outageSeconds }) > deadline) {
      console.log(`\n== ${drill.name}: skipped, it would not end within the ${TOTAL_BUDGET_MS / 60_000} min total`);
      continue;
    }
    console.log(`\n== ${drill.name}`);
    const report = await runDrill(drill, { outageSeconds }, (line) => console.log(line));
    reports.push(report);
    for (const failure of report.failures) console.log(`  FAILED: ${failure}`);
  }
  await destroyAllTestLinks();
  console.log(`\n${formatTable(reports)}`);
  const failed = reports.filter((report) => report.failures.length > 0).length;
  console.log(`\n${reports.length} drills, ${failed} failed; lost ${sum(reports, 'lost')}, duplicated ${sum(reports, 'duplicated')}`);
  return failed === 0 && reports.length === chosen.length ? 0 : 1;
}

function sum(reports: readonly DrillReport[], key: 'lost' | 'duplicated'): number {
  return reports.reduce((total, report) => total + report[key], 0);
}

process.exitCode = await main();
