/**
 * A pcapd without the capabilities to capture says so once, at start, with
 * how to grant them; /healthz and /stats report it; it keeps serving, and a
 * capture request fails with PCAPD_ERR_PERMISSION_DENIED. The daemon runs
 * under setpriv with CAP_NET_RAW and CAP_NET_ADMIN removed from its bounding
 * set (root otherwise).
 */
import { afterEach, describe, expect, it } from 'vitest';

import { capturePermission } from '../../src/capture/permission.js';
import { postJson, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

let daemon: RunningDaemon | undefined;

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

const WITHOUT_CAPTURE = ['setpriv', '--bounding-set', '-net_raw,-net_admin', '--inh-caps', '-net_raw,-net_admin'];

describe('capture permission', () => {
  it('reads the effective capabilities', () => {
    expect(capturePermission('CapEff:\t000001ffffffffff\n')).toEqual({ permitted: true, missing: [] });
    expect(capturePermission('CapEff:\t000001ffffffcfff\n')).toEqual({ permitted: false, missing: ['CAP_NET_RAW', 'CAP_NET_ADMIN'] });
    expect(capturePermission('CapEff:\t0000000000001000\n')).toEqual({ permitted: false, missing: ['CAP_NET_RAW'] });
  });

  it('without CAP_NET_RAW/CAP_NET_ADMIN: one line at start, /healthz and /stats say denied, captures fail with the code', async () => {
    daemon = await startDaemon({ edits: { general: { node: '"sensor-noperm"' } }, prefix: WITHOUT_CAPTURE });
    const running = daemon;
    await running.waitForLog((line) => line.msg === 'pcapd started');
    const advice = running.logs.filter((line) => line['code'] === 'PCAPD_ERR_PERMISSION_DENIED');
    expect(advice).toHaveLength(1);
    expect(advice[0]?.msg).toMatch(/^pcapd cannot capture: it lacks CAP_NET_RAW and CAP_NET_ADMIN\. Run it as root/);
    expect((await running.api('/healthz')).body).toEqual({ ok: true, capture: 'denied' });
    expect((await running.api('/stats')).body.capture).toEqual({ permitted: false, missing: ['CAP_NET_RAW', 'CAP_NET_ADMIN'] });

    const result = await running.api('/captures?wait', postJson({ node: 'any', interface: ['lo'], packets: 1, duration: 2, id: 'no-perm' }));
    expect(result.body).toMatchObject({ state: 'failed', error: { code: 'PCAPD_ERR_PERMISSION_DENIED' } });
    expect(result.body.error.message.match(/lo:/g)).toHaveLength(1);
  });

  it('as root: /healthz says capture is permitted', async () => {
    daemon = await startDaemon({ edits: { general: { node: '"sensor-perm"' } } });
    expect((await daemon.api('/healthz')).body).toEqual({ ok: true, capture: 'permitted' });
  });
});
