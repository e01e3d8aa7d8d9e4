/**
 * The API's bearer token (`http.token`), on the real daemon: every route but
 * /healthz refuses a request without it, or with a wrong one, with 401
 * PCAPD_ERR_UNAUTHORIZED and pcapd's error body; with it the same routes
 * answer. A capture request refused for its token is counted as received and
 * rejected, like every other refusal, and starts nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { metricValue } from '../helpers/brokers.js';
import { postJson, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'token-test-0123456789abcdef';
const REQUEST = { node: 'any', interface: ['lo'], bpf: 'udp port 1', duration: 1 };

let daemon: RunningDaemon;
/** The same daemon, every call carrying the right token (what metricValue and friends read through). */
let authorised: RunningDaemon;

function withToken(init: RequestInit | undefined, token: string): RequestInit {
  return { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` } };
}

beforeAll(async () => {
  daemon = await startDaemon({ edits: { general: { node: '"sensor-token"' }, http: { token: JSON.stringify(TOKEN) } } });
  authorised = { ...daemon, api: (path, init) => daemon.api(path, withToken(init, TOKEN)) };
});

afterAll(async () => {
  await daemon.stop();
});

describe('http.token', () => {
  it('refuses every route but /healthz without the token or with a wrong one, and serves them with it', async () => {
    expect((await daemon.api('/healthz')).status).toBe(200);
    for (const path of ['/captures', '/stats', '/interfaces', '/metrics', '/openapi.json', '/files']) {
      for (const init of [undefined, withToken(undefined, 'wrong'), { headers: { authorization: TOKEN } }]) {
        const refused = await daemon.api(path, init);
        expect(refused, path).toMatchObject({ status: 401, body: { error: { code: 'PCAPD_ERR_UNAUTHORIZED' } } });
      }
      expect((await authorised.api(path)).status, path).toBe(200);
    }
  });

  it('counts a capture request refused for its token as received and rejected, and starts nothing', async () => {
    const received = await metricValue(authorised, 'pcapd_requests_received_total', { source: 'http' });
    const rejected = await metricValue(authorised, 'pcapd_requests_rejected_total', { source: 'http', reason: 'PCAPD_ERR_UNAUTHORIZED' });
    const refused = await daemon.api('/captures', postJson({ ...REQUEST, id: 'no-token' }));
    expect(refused).toMatchObject({ status: 401, body: { error: { code: 'PCAPD_ERR_UNAUTHORIZED' } } });
    expect(await metricValue(authorised, 'pcapd_requests_received_total', { source: 'http' })).toBe(received + 1);
    expect(await metricValue(authorised, 'pcapd_requests_rejected_total', { source: 'http', reason: 'PCAPD_ERR_UNAUTHORIZED' })).toBe(rejected + 1);
    expect((await authorised.api('/captures/no-token')).status).toBe(404);
    expect(daemon.logs.some((line) => line.msg === 'request rejected' && line['code'] === 'PCAPD_ERR_UNAUTHORIZED')).toBe(true);

    const accepted = await authorised.api('/captures', postJson({ ...REQUEST, id: 'with-token' }));
    expect(accepted.status).toBe(202);
    // waitForState reads without the token: the outcome is polled here through the authorised view.
    const outcome = await waitFor('with-token to end', async () => {
      const { body } = await authorised.api('/captures/with-token');
      return body.state === 'done' || body.state === 'failed' ? body : undefined;
    });
    expect(outcome).toMatchObject({ state: 'done', reason: 'duration' });
  });
});
