/** The interface-removal drill (drills/interface-removal.ts) in the suite. */
import { expect, it } from 'vitest';

import { interfaceRemoval } from '../../drills/interface-removal.js';
import { runDrill } from '../../drills/lib/drill.js';

it('ends a capture whose interface is deleted with reason error, keeps and delivers its packets, and serves the next request', async () => {
  const report = await runDrill(interfaceRemoval, { outageSeconds: 0 });
  expect(report.failures).toEqual([]);
  expect(report).toMatchObject({ requested: 2, captured: 2, delivered: 2, lost: 0, duplicated: 0 });
}, 90_000);
