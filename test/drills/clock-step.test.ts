/**
 * The clock drill (drills/clock-step.ts) in the suite: the daemon's wall
 * clock stepped ±1 h under libfaketime while a duration, an idle timeout and
 * spool retries run. Before retries waited on the monotonic clock, the
 * backward step held the spooled capture for an hour and this failed.
 */
import { expect, it } from 'vitest';

import { clockSteps } from '../../drills/clock-step.js';
import { runDrill } from '../../drills/lib/drill.js';

it('keeps durations, idle timeouts and spool retry waits on the monotonic clock when the wall clock steps an hour', async () => {
  const report = await runDrill(clockSteps, { outageSeconds: 0 });
  expect(report.failures).toEqual([]);
  expect(report).toMatchObject({ requested: 4, captured: 4, delivered: 4, lost: 0, duplicated: 0 });
}, 150_000);
