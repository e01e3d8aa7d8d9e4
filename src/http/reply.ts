/** pcapd's error answer, the same on every route: {"error": {"code", "message"}} with the code's HTTP status. */
import type { FastifyReply } from 'fastify';

import type { ErrorCode } from '../errors.js';
import { httpStatusFor } from './status.js';

export function errorBody(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}

export function sendError(reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  return reply.code(httpStatusFor(code)).send(errorBody(code, message));
}
