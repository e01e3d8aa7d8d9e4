/**
 * Every kind of bad request, sent to the real daemon over HTTP: each gets a
 * 4xx with a stable code, a log line and a counted metric, and the daemon
 * keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { metricSum, metricValue } from '../helpers/brokers.js';
import { postJson, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

let daemon: RunningDaemon;

beforeAll(async () => {
  daemon = await startDaemon({
    // S3 on (a closed port: nothing here is meant to arrive), so per-request S3 overrides are judged.
    edits: {
      general: { node: '"sensor-rej"' },
      s3: {
        upload: 'true',
        bucket: '"pcaps"',
        endpoint: '"http://127.0.0.1:9"',
        pathstyle: 'true',
        region: '"us-east-1"',
        accessid: '"test"',
        accesskey: '"test"',
      },
    },
    append: '[[interface]]\nname = "lo"\nalias = ["loop"]\n',
  });
});

afterAll(async () => {
  await daemon.stop();
});

const VALID = { node: 'any', interface: ['lo'], bpf: 'udp port 1', duration: 1 };

const CASES: Array<[name: string, body: unknown, status: number, code: string, message?: RegExp]> = [
  ['bad JSON', '{"node": "any", ', 400, 'PCAPD_ERR_REQUEST_JSON'],
  ['a JSON array', '[1, 2]', 400, 'PCAPD_ERR_REQUEST_JSON'],
  ['a string for packets', { ...VALID, packets: '50' }, 400, 'PCAPD_ERR_REQUEST_INVALID', /^\/packets: /],
  ['a number for bpf', { ...VALID, bpf: 5 }, 400, 'PCAPD_ERR_REQUEST_INVALID', /^\/bpf: /],
  ['negative packets', { ...VALID, packets: -1 }, 400, 'PCAPD_ERR_REQUEST_INVALID', /^\/packets: /],
  ['a fractional duration', { ...VALID, duration: 2.5 }, 400, 'PCAPD_ERR_REQUEST_INVALID', /^\/duration: /],
  ['non-numeric bytes', { ...VALID, bytes: 'lots' }, 400, 'PCAPD_ERR_REQUEST_INVALID', /^\/bytes: /],
  ['both node and nodere', { ...VALID, nodere: '^sensor' }, 400, 'PCAPD_ERR_REQUEST_TARGET'],
  ['neither node nor nodere', { interface: ['lo'] }, 400, 'PCAPD_ERR_REQUEST_TARGET'],
  ['neither interface nor alias', { node: 'any' }, 400, 'PCAPD_ERR_REQUEST_INTERFACE'],
  ['both interface and alias', { ...VALID, alias: ['loop'] }, 400, 'PCAPD_ERR_REQUEST_INTERFACE'],
  ['an unknown alias', { node: 'any', alias: ['dmz'] }, 400, 'PCAPD_ERR_ALIAS_UNKNOWN', /dmz/],
  ['an unknown interface', { node: 'any', interface: ['nosuch0'] }, 400, 'PCAPD_ERR_INTERFACE_UNKNOWN', /nosuch0/],
  ['an invalid BPF', { ...VALID, bpf: 'tcp port 99999' }, 400, 'PCAPD_ERR_BPF_INVALID', /illegal port number 99999/],
  ['a nodere whose compiled form explodes', { nodere: '^((a{1,100}){1,100}){1,100}$', interface: ['lo'] }, 400, 'PCAPD_ERR_NODERE_INVALID'],
  ['an invalid nodere', { nodere: '(unclosed', interface: ['lo'] }, 400, 'PCAPD_ERR_NODERE_INVALID'],
  ['a folder with ..', { ...VALID, folder: 'cases/../../etc' }, 400, 'PCAPD_ERR_FOLDER_INVALID'],
  ['an absolute folder', { ...VALID, folder: '/etc/cron.d' }, 400, 'PCAPD_ERR_FOLDER_INVALID'],
  ['an unknown field', { ...VALID, pakets: 5 }, 400, 'PCAPD_ERR_REQUEST_UNKNOWN_FIELD', /^\/pakets: unknown field$/],
  ['an unknown nested field', { ...VALID, segment: { bytez: 5 } }, 400, 'PCAPD_ERR_REQUEST_UNKNOWN_FIELD', /^\/segment\/bytez/],
  ['a stale timestamp', { ...VALID, timestamp: Math.floor(Date.now() / 1000) - 3600 }, 400, 'PCAPD_ERR_REQUEST_STALE'],
  ['an S3 bucket override off the allowlist', { ...VALID, bucket: 'attacker-bucket' }, 403, 'PCAPD_ERR_OVERRIDE_NOT_ALLOWED'],
  ['a body over maxrequestbytes', { ...VALID, tags: 'x'.repeat(70_000) }, 413, 'PCAPD_ERR_REQUEST_TOO_LARGE'],
];

describe('rejected requests', () => {
  it.each(CASES)('rejects %s with a stable code, a log line and a metric', async (_name, body, status, code, message) => {
    const before = daemon.logs.length;
    const result = await daemon.api('/captures', postJson(body));
    expect(result.status).toBe(status);
    expect(result.body.error.code).toBe(code);
    if (message) expect(result.body.error.message).toMatch(message);
    const line = await daemon.waitForLog((l) => l.msg === 'request rejected' && l['code'] === code && daemon.logs.indexOf(l) >= before);
    expect(line['source']).toBe('http');
    const metrics = await daemon.api('/metrics');
    expect(metrics.body).toMatch(new RegExp(`pcapd_requests_rejected_total\\{source="http",reason="${code}"\\} [1-9]`));
  });

  it('handles a backtracking-prone nodere in linear time: evaluated, not matched, not captured', async () => {
    // A backtracking engine would take minutes on this; RE2 answers at once.
    const result = await daemon.api('/captures', postJson({ nodere: '^(a+)+$', interface: ['lo'] }));
    expect(result).toEqual({ status: 200, body: { ignored: true, why: 'other-node' } });
  });

  it('keeps serving after every rejection', async () => {
    const result = await daemon.api('/captures', postJson({ ...VALID, id: 'after-rejections' }));
    expect(result.status).toBe(202);
    const outcome = await daemon.waitForState('after-rejections', ['done', 'failed']);
    expect(outcome).toMatchObject({ state: 'done', reason: 'duration' });
    expect(daemon.process.exitCode).toBeNull();
  });

  it('counts every refused request as received, an oversized body and a bad ?wait too, so received = the sum of the outcomes', async () => {
    const receivedBefore = await metricValue(daemon, 'pcapd_requests_received_total', { source: 'http' });
    const oversized = await daemon.api('/captures', postJson({ ...VALID, tags: 'x'.repeat(70_000) }));
    expect(oversized.body.error.code).toBe('PCAPD_ERR_REQUEST_TOO_LARGE');
    const badWait = await daemon.api('/captures?wait&timeout=0', postJson(VALID));
    expect(badWait.body.error.code).toBe('PCAPD_ERR_REQUEST_INVALID');
    const received = await metricValue(daemon, 'pcapd_requests_received_total', { source: 'http' });
    expect(received).toBe(receivedBefore + 2);
    const outcomes = await Promise.all(
      ['accepted', 'rejected', 'ignored', 'duplicate'].map((name) => metricSum(daemon, `pcapd_requests_${name}_total`, { source: 'http' })),
    );
    const merged = await metricSum(daemon, 'pcapd_flow_alerts_merged_total', { source: 'http' });
    expect(received).toBe(outcomes.reduce((sum, count) => sum + count, merged));
  });

  it('answers unknown routes and unauthorised methods with error bodies', async () => {
    const missing = await daemon.api('/nope');
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'PCAPD_ERR_NOT_FOUND' } } });
    const unknownCapture = await daemon.api('/captures/never-seen');
    expect(unknownCapture).toMatchObject({ status: 404, body: { error: { code: 'PCAPD_ERR_CAPTURE_NOT_FOUND' } } });
  });
});
