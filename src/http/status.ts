/** The HTTP status each error code is answered with. */
import type { ErrorCode } from '../errors.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  PCAPD_ERR_REQUEST_TOO_LARGE: 413,
  PCAPD_ERR_OVERRIDE_NOT_ALLOWED: 403,
  PCAPD_ERR_UNAUTHORIZED: 401,
  PCAPD_ERR_REQUEST_UNSIGNED: 401,
  PCAPD_ERR_SIGNATURE_INVALID: 401,
  PCAPD_ERR_CAPTURE_NOT_FOUND: 404,
  PCAPD_ERR_CAPTURE_FILE_GONE: 410,
  PCAPD_ERR_NOT_FOUND: 404,
  PCAPD_ERR_FILE_NOT_FOUND: 404,
  PCAPD_ERR_RANGE_NOT_SATISFIABLE: 416,
  PCAPD_ERR_REQUEST_DUPLICATE: 409,
  PCAPD_ERR_NAME_TAKEN: 409,
  PCAPD_ERR_ADMISSION_FULL: 503,
  PCAPD_ERR_SHUTTING_DOWN: 503,
  PCAPD_ERR_INTERNAL: 500,
};

/** 400 for everything a client sent wrong, unless listed above. */
export function httpStatusFor(code: ErrorCode): number {
  return STATUS[code] ?? 400;
}
