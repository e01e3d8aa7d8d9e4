/**
 * The body of a result event: the CaptureOutcome of an accepted request
 * (state "done" or "failed"), or, for a request this node refused, a short
 * rejection with the stable error code, so a requester waiting on its reply
 * destination learns why nothing will be captured.
 */
import type { ErrorCode } from '../errors.js';
import type { CaptureOutcome } from '../model/outcome.js';

export interface RejectedEvent {
  /** The request's own id, when it carried a valid one. */
  id?: string;
  node: string;
  source: string;
  state: 'rejected';
  error: { code: ErrorCode; message: string };
  requestedAt: string;
}

export type ResultEvent = CaptureOutcome | RejectedEvent;
