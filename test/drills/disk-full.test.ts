/**
 * The disk-full drills (drills/disk-full.ts) in the suite: the spool's disk
 * and the local sink's disk filled to the last byte on a small tmpfs.
 */
import { describe, expect, it } from 'vitest';

import { localDiskFull, spoolDiskFull } from '../../drills/disk-full.js';
import { runDrill } from '../../drills/lib/drill.js';

const options = { outageSeconds: 0 };

describe('a full disk', () => {
  it('under the spool: the capture is delivered locally, the remote sink reported PCAPD_ERR_SPOOL_FULL and counted; the next request is served once space is back', async () => {
    const report = await runDrill(spoolDiskFull, options);
    expect(report.failures).toEqual([]);
    expect(report).toMatchObject({ requested: 2, captured: 2, delivered: 1, lost: 0, duplicated: 0 });
  }, 120_000);

  it('under the local sink: PCAPD_ERR_SINK_LOCAL, counted, kept in the spool and written once space is back; the next request is served', async () => {
    const report = await runDrill(localDiskFull, options);
    expect(report.failures).toEqual([]);
    expect(report).toMatchObject({ requested: 2, captured: 2, delivered: 2, lost: 0, duplicated: 0 });
  }, 120_000);
});
