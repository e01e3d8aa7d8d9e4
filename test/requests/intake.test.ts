import { Writable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { systemClock } from '../../src/clock.js';
import { buildConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { Intake } from '../../src/requests/intake.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';

/** An intake whose scheduler behaves as `submit` says, with its log lines and metrics to read back. */
function intakeWith(submit: Scheduler['submit']): { intake: Intake; lines: Record<string, unknown>[]; metrics: Metrics } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  const { log } = createLogger({ destination, level: 'debug' });
  const metrics = new Metrics({ version: 'test', libpcap: 'test', defaults: false });
  const config = buildConfig('', 'test');
  const scheduler = { submit } as unknown as Scheduler;
  const intake = new Intake({ config: () => config, node: () => 'sensor1', scheduler, log, metrics, clock: systemClock });
  return { intake, lines, metrics };
}

const body = JSON.stringify({ id: 'r-42', node: 'sensor1', interface: ['lo'], packets: 1 });

describe('Intake', () => {
  it('reports an error without a code as PCAPD_ERR_INTERNAL, logged at error level with the stack and counted, not as a bad request', async () => {
    const { intake, lines, metrics } = intakeWith(() => {
      throw new TypeError('scheduler bug');
    });
    const result = await intake.handle({ body, source: 'http' });
    expect(result).toMatchObject({ kind: 'rejected', code: 'PCAPD_ERR_INTERNAL', id: 'r-42' });
    const line = lines.find((entry) => entry['msg'] === 'request rejected: internal error');
    expect(line?.['level']).toBe(50);
    expect(JSON.stringify(line?.['err'])).toContain('scheduler bug');
    expect(JSON.stringify(line?.['err'])).toContain('at ');
    const text = await metrics.registry.metrics();
    expect(text).toContain('pcapd_internal_errors_total{where="intake"} 1');
    expect(text).toContain('pcapd_requests_rejected_total{source="http",reason="PCAPD_ERR_INTERNAL"} 1');
  });

  it('hands back the id and reply of a refused request so the publisher parses nothing', async () => {
    const { intake } = intakeWith(() => {
      throw new Error('not reached');
    });
    const refused = JSON.stringify({ id: 'r-43', node: 'sensor1', interface: ['lo'], packets: -1, reply: 'redis:answers' });
    expect(await intake.handle({ body: refused, source: 'redis' })).toMatchObject({
      kind: 'rejected',
      code: 'PCAPD_ERR_REQUEST_INVALID',
      id: 'r-43',
      reply: 'redis:answers',
    });
    const unreadable = await intake.handle({ body: '{"id": "r-44", ', source: 'redis' });
    expect(unreadable).toEqual({ kind: 'rejected', code: 'PCAPD_ERR_REQUEST_JSON', message: expect.any(String) });
    const badId = await intake.handle({ body: JSON.stringify({ id: '../x', node: 'sensor1', interface: ['lo'] }), source: 'redis' });
    expect(badId).not.toHaveProperty('id');
  });
});
