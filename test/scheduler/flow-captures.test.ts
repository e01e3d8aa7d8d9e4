/**
 * One capture per flow: which capture an alert merges into, for how long
 * after it ended, and how the merged alerts are listed and bounded.
 */
import { describe, expect, it } from 'vitest';

import { FlowCaptures, flowOutcomeOf, mergeAlert, mergedAlertLines } from '../../src/scheduler/flow-captures.js';
import type { CaptureJob, JobFlow } from '../../src/model/job.js';
import { makeJob } from '../helpers/job.js';

function flowJob(id: string, key: string, signatureId: number): CaptureJob {
  const flow: JobFlow = {
    alert: {
      family: 4,
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      transport: { kind: 'ports', proto: 6, srcPort: 1000, dstPort: 80 },
      vlanIds: [],
      flowId: '42',
      signature: { id: signatureId, text: `sig ${signatureId}` },
      timestamp: { ms: 0, text: `t${signatureId}` },
    },
    key,
    communityId: '1:abc',
    description: 'tcp 10.0.0.1:1000 <-> 10.0.0.2:80',
    tcpClose: true,
    idleSeconds: 120,
  };
  return makeJob({ id, flow });
}

describe('FlowCaptures', () => {
  it('merges alerts into the running capture of their flow, and for the merge window after it ends', () => {
    const flows = new FlowCaptures();
    const first = flowJob('c1', 'flow_id 42', 1);
    expect(flows.captureOf(first.flow as JobFlow, 1000, 300_000)).toBeUndefined();
    flows.started(first, 1000, 300_000);
    expect(flows.captureOf(flowJob('c2', 'flow_id 42', 2).flow as JobFlow, 2000, 300_000)).toBe('c1');
    expect(flows.captureOf(flowJob('c3', 'flow_id 43', 3).flow as JobFlow, 2000, 300_000)).toBeUndefined();
    flows.ended(first, 10_000);
    expect(flows.captureOf(first.flow as JobFlow, 10_000 + 299_999, 300_000)).toBe('c1');
    expect(flows.captureOf(first.flow as JobFlow, 10_000 + 300_000, 300_000)).toBeUndefined();
    expect(flows.size).toBe(0);
  });

  it('lists merged alerts up to flows.mergemax and counts the rest', () => {
    const outcome = flowOutcomeOf(flowJob('c1', 'k', 1));
    if (outcome === undefined) throw new Error('no flow outcome');
    for (const sid of [2, 3, 4]) mergeAlert(outcome, flowJob(`m${sid}`, 'k', sid), 3);
    expect(outcome.merged).toBe(3);
    expect(outcome.omitted).toBe(1);
    expect(outcome.alerts.map((alert) => alert.signatureId)).toEqual([1, 2, 3]);
    expect(mergedAlertLines(outcome)).toEqual([
      'merged alert sid 2 "sig 2" at t2',
      'merged alert sid 3 "sig 3" at t3',
      '1 more alerts merged (not listed: flows.mergemax)',
    ]);
  });
});
