/**
 * What a listener hands the intake (the raw body and where it came from) and
 * what the intake answers, so each listener can settle its message: ack,
 * reply, or leave it for redelivery.
 */
import type { ErrorCode } from '../errors.js';
import type { ReplyEvent } from '../model/request.js';
import type { SubmitResult } from '../scheduler/scheduler.js';

export interface RawRequest {
  body: string | Buffer;
  /** Listener name: "http", "redis", "kafka", "sqs". */
  source: string;
}

export type IntakeResult =
  | (Extract<SubmitResult, { kind: 'accepted' }> & {
      /** The request's validated `reply` destination, when it named one. */
      reply?: string;
      /** Which result events go to `reply` (default: the final outcome only). */
      replyOn?: readonly ReplyEvent[];
    })
  | { kind: 'ignored'; why: 'other-node' | 'not-an-alert' }
  | { kind: 'duplicate'; id: string }
  /** An alert for a flow already being captured: added to that capture (`id`). */
  | { kind: 'merged'; id: string }
  /** `id` and `reply` are the refused request's own, when its body was readable. */
  | { kind: 'rejected'; code: ErrorCode; message: string; id?: string; reply?: string };

export type RequestHandler = (request: RawRequest) => Promise<IntakeResult>;
