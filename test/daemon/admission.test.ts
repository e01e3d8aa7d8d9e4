/**
 * Admission under load: more requests than the concurrency or memory budget
 * get a clear refusal, or wait in a bounded queue when one is configured.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { postJson, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

let daemon: RunningDaemon | undefined;

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

// Matches nothing on lo, so a capture runs until its duration or a cancel.
const QUIET = { node: 'any', interface: ['lo'], bpf: 'udp port 1', duration: 60 };

describe('admission', () => {
  it('refuses a request beyond scheduler.maxconcurrent when there is no queue', async () => {
    daemon = await startDaemon({ edits: { scheduler: { maxconcurrent: '1', queue: '0' } } });
    expect((await daemon.api('/captures', postJson({ ...QUIET, id: 'first' }))).status).toBe(202);
    await daemon.waitForState('first', ['capturing']);

    const refused = await daemon.api('/captures', postJson({ ...QUIET, id: 'second' }));
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('PCAPD_ERR_ADMISSION_FULL');
    expect(refused.body.error.message).toMatch(/1\/1 running/);
    const metrics = await daemon.api('/metrics');
    expect(metrics.body).toMatch(/pcapd_requests_rejected_total\{source="http",reason="PCAPD_ERR_ADMISSION_FULL"\} 1/);
    expect(metrics.body).toMatch(/pcapd_captures_running 1/);
  });

  it('queues a request when a slot is busy and starts it when the slot frees', async () => {
    daemon = await startDaemon({ edits: { scheduler: { maxconcurrent: '1', queue: '1' } } });
    await daemon.api('/captures', postJson({ ...QUIET, id: 'running' }));
    await daemon.waitForState('running', ['capturing']);
    const queued = await daemon.api('/captures', postJson({ ...QUIET, id: 'waiting' }));
    expect(queued).toMatchObject({ status: 202, body: { id: 'waiting', queued: true } });
    expect((await daemon.api('/captures/waiting')).body.state).toBe('queued');

    const overflow = await daemon.api('/captures', postJson({ ...QUIET, id: 'overflow' }));
    expect(overflow.body.error.code).toBe('PCAPD_ERR_ADMISSION_FULL');

    await daemon.api('/captures/running', { method: 'DELETE' });
    await daemon.waitForState('waiting', ['capturing']);
    expect((await daemon.api('/stats')).body.scheduler).toMatchObject({ running: 1, queued: 0 });
  });

  it('refuses a queued request at scheduler.queuetimeout even while every slot stays busy, and counts it', async () => {
    daemon = await startDaemon({ edits: { scheduler: { maxconcurrent: '1', queue: '4', queuetimeout: '1' } } });
    const running = daemon;
    expect((await running.api('/captures?wait=armed', postJson({ ...QUIET, id: 'holder' }))).status).toBe(200);
    const queued = await running.api('/captures', postJson({ ...QUIET, id: 'expires' }));
    expect(queued).toMatchObject({ status: 202, body: { queued: true } });
    // The holder runs for 60 s: nothing frees a slot, yet the queued request ends at its timeout.
    const outcome = await running.waitForState('expires', ['failed', 'done'], 10_000);
    expect(outcome).toMatchObject({ state: 'failed', error: { code: 'PCAPD_ERR_ADMISSION_FULL', message: expect.stringMatching(/scheduler\.queuetimeout/) } });
    expect((await running.api('/captures/holder')).body.state).toBe('capturing');
    expect((await running.api('/metrics')).body).toMatch(/pcapd_captures_failed_total\{reason="PCAPD_ERR_ADMISSION_FULL"\} 1/);
  });

  it("gives a cancelled capture's slot back at once: a POST right after a DELETE is admitted", async () => {
    daemon = await startDaemon({ edits: { scheduler: { maxconcurrent: '8', perinterface: '4', queue: '0' } } });
    const running = daemon;
    for (const id of ['c1', 'c2', 'c3', 'c4']) {
      expect((await running.api('/captures?wait=armed', postJson({ ...QUIET, id }))).status).toBe(200);
    }
    expect((await running.api('/captures', postJson({ ...QUIET, id: 'c5' }))).status).toBe(503);
    // Each POST right after its DELETE answers, without waiting for the cancelled capture to close.
    for (const i of [1, 2, 3, 4]) {
      expect((await running.api(`/captures/c${i}`, { method: 'DELETE' })).status).toBe(202);
      expect((await running.api('/captures', postJson({ ...QUIET, id: `n${i}` }))).status).toBe(202);
    }
    for (const id of ['c1', 'c2', 'c3', 'c4']) {
      expect(await running.waitForState(id, ['done', 'failed'])).toMatchObject({ state: 'done', reason: 'cancelled' });
    }
    const metrics = await running.api('/metrics');
    expect(metrics.body).toMatch(/pcapd_captures_running 4/);
  });

  it('refuses at once a capture whose byte limit alone exceeds the memory budget', async () => {
    daemon = await startDaemon({ edits: { scheduler: { memorybudget: String(64 * 1024 * 1024) } } });
    const refused = await daemon.api('/captures', postJson({ ...QUIET, bytes: 90_000_000 }));
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'PCAPD_ERR_ADMISSION_FULL', message: expect.stringMatching(/memorybudget/) });
  });

  it('bounds concurrent captures by the memory budget', async () => {
    // Each capture reserves its byte limit plus chunk slack: two fit in 64 MiB, a third does not.
    daemon = await startDaemon({ edits: { scheduler: { memorybudget: String(64 * 1024 * 1024), maxconcurrent: '10', queue: '0' } } });
    for (const id of ['m1', 'm2']) {
      expect((await daemon.api('/captures', postJson({ ...QUIET, id, bytes: 20_000_000 }))).status).toBe(202);
    }
    const third = await daemon.api('/captures', postJson({ ...QUIET, id: 'm3', bytes: 20_000_000 }));
    expect(third.body.error.code).toBe('PCAPD_ERR_ADMISSION_FULL');
    expect(third.body.error.message).toMatch(/bytes reserved/);
  });
});
