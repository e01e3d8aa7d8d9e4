/**
 * One capture per flow: an alert for a flow whose capture is running, or
 * ended less than flows.mergewindow ago, is added to that capture's outcome
 * instead of starting a second capture of the same packets. Suricata raises
 * several alerts on one flow (several signatures, or one per transaction);
 * they all belong in one file.
 *
 * Memory is bounded: a flow is remembered while its capture runs and for the
 * merge window after, and at most MAX_FLOWS are kept (the oldest ended first).
 */
import type { FlowAlert } from '../flows/eve.js';
import type { CaptureJob, JobFlow } from '../model/job.js';
import type { FlowAlertRecord, FlowOutcome } from '../model/outcome.js';

const MAX_FLOWS = 100_000;

interface KnownFlow {
  captureId: string;
  /** When its capture ended (epoch ms); undefined while it runs. */
  endedAtMs?: number;
}

export class FlowCaptures {
  private readonly flows = new Map<string, KnownFlow>();

  /** The capture an alert for this flow merges into, if any. */
  captureOf(flow: JobFlow, nowMs: number, windowMs: number): string | undefined {
    const known = this.flows.get(flow.key);
    if (known === undefined) return undefined;
    if (known.endedAtMs !== undefined && nowMs - known.endedAtMs >= windowMs) {
      this.flows.delete(flow.key);
      return undefined;
    }
    return known.captureId;
  }

  /** A capture of this flow was accepted. */
  started(job: CaptureJob, nowMs: number, windowMs: number): void {
    if (job.flow === undefined) return;
    this.flows.delete(job.flow.key);
    this.flows.set(job.flow.key, { captureId: job.id });
    this.forgetOld(nowMs, windowMs);
  }

  /** Its capture ended: alerts still merge into it for the merge window. */
  ended(job: CaptureJob, nowMs: number): void {
    const known = job.flow === undefined ? undefined : this.flows.get(job.flow.key);
    if (known !== undefined && known.captureId === job.id) known.endedAtMs = nowMs;
  }

  get size(): number {
    return this.flows.size;
  }

  /** Oldest first, as remembered ids are: stops at the first flow still current while under the bound. */
  private forgetOld(nowMs: number, windowMs: number): void {
    for (const [key, known] of this.flows) {
      const expired = known.endedAtMs !== undefined && nowMs - known.endedAtMs >= windowMs;
      // Past the bound a running flow is forgotten too: a later alert for it starts a capture of its own.
      if (!expired && this.flows.size <= MAX_FLOWS) break;
      this.flows.delete(key);
    }
  }
}

function alertRecord(alert: FlowAlert, receivedAt: Date): FlowAlertRecord {
  const record: FlowAlertRecord = { receivedAt: receivedAt.toISOString() };
  if (alert.signature !== undefined) {
    record.signatureId = alert.signature.id;
    if (alert.signature.text !== undefined) record.signature = alert.signature.text;
  }
  if (alert.timestamp !== undefined) record.timestamp = alert.timestamp.text;
  return record;
}

/** The flow part of a new flow capture's outcome. */
export function flowOutcomeOf(job: CaptureJob): FlowOutcome | undefined {
  const { flow } = job;
  if (flow === undefined) return undefined;
  const outcome: FlowOutcome = {
    flow: flow.description,
    filter: job.filter,
    alerts: [alertRecord(flow.alert, job.receivedAt)],
    merged: 0,
    omitted: 0,
  };
  if (flow.communityId !== undefined) outcome.communityId = flow.communityId;
  if (flow.alert.flowId !== undefined) outcome.flowId = flow.alert.flowId;
  if (flow.alert.communityId !== undefined && flow.alert.communityId !== flow.communityId) {
    outcome.alertCommunityId = flow.alert.communityId;
  }
  return outcome;
}

/** Adds a merged alert; beyond `maxListed` alerts it is only counted. */
export function mergeAlert(outcome: FlowOutcome, job: CaptureJob, maxListed: number): void {
  if (job.flow === undefined) return;
  outcome.merged += 1;
  if (outcome.alerts.length < maxListed) outcome.alerts.push(alertRecord(job.flow.alert, job.receivedAt));
  else outcome.omitted += 1;
}

function alertLine(alert: FlowAlertRecord): string {
  const sid = alert.signatureId === undefined ? 'alert' : `alert sid ${alert.signatureId}`;
  const text = alert.signature === undefined ? '' : ` "${alert.signature}"`;
  return `${sid}${text} at ${alert.timestamp ?? alert.receivedAt}`;
}

/** Lines for the pcapng section comment when the capture arms: the flow and the alert that started it. */
export function flowCommentLines(outcome: FlowOutcome): string[] {
  const lines = [`flow: ${outcome.flow}`];
  if (outcome.communityId !== undefined) lines.push(`community_id: ${outcome.communityId}`);
  if (outcome.flowId !== undefined) lines.push(`flow_id: ${outcome.flowId}`);
  if (outcome.alertCommunityId !== undefined) lines.push(`alert community_id: ${outcome.alertCommunityId} (differs)`);
  lines.push(...outcome.alerts.map(alertLine));
  return lines;
}

/** Lines added to the section comment when the file closes: the alerts merged since it armed. */
export function mergedAlertLines(outcome: FlowOutcome): string[] {
  const lines = outcome.alerts.slice(1).map((alert) => `merged ${alertLine(alert)}`);
  if (outcome.omitted > 0) lines.push(`${outcome.omitted} more alerts merged (not listed: flows.mergemax)`);
  return lines;
}
