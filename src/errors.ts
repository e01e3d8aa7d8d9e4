/**
 * Stable error codes. A code is API: it is logged, counted as the `reason`
 * label of pcapd_requests_rejected_total / pcapd_errors_total, returned in HTTP
 * error bodies and result events, and listed in the README (a test fails when
 * one is undocumented). Add codes; never rename or reuse one.
 */
export const ERROR_CODES = {
  // Capture core (native addon and its facade)
  PCAPD_ERR_NATIVE_LOAD: 'the native capture addon could not be loaded (not built, or built for another Node.js)',
  PCAPD_ERR_NATIVE_ARGUMENT: 'a value passed to the native capture core had the wrong type or range',
  PCAPD_ERR_INTERFACE_UNKNOWN: 'the interface does not exist on this host',
  PCAPD_ERR_INTERFACE_DOWN: 'the interface is not up',
  PCAPD_ERR_PERMISSION_DENIED: 'pcapd lacks CAP_NET_RAW/CAP_NET_ADMIN for this interface',
  PCAPD_ERR_CAPTURE_ACTIVATE: 'libpcap could not activate the interface',
  PCAPD_ERR_BPF_INVALID: 'the BPF filter does not compile (libpcap message included)',
  PCAPD_ERR_LIMIT_TOO_SMALL: 'the byte limit cannot hold the file headers and one packet',
  PCAPD_ERR_CAPTURE_FAILED: 'the capture failed while running (for example the interface disappeared)',
  PCAPD_ERR_DEVICE_LIST: 'libpcap could not list the interfaces',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

export class PcapdError extends Error {
  override readonly name = 'PcapdError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The code of a PcapdError or of a native error carrying a known `code`. */
export function errorCodeOf(err: unknown): ErrorCode | undefined {
  if (err instanceof PcapdError) return err.code;
  if (err instanceof Error && 'code' in err && isErrorCode(err.code)) return err.code;
  return undefined;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
