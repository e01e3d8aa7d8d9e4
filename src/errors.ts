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
  PCAPD_ERR_BPF_INVALID: 'the BPF filter does not compile (libpcap message included), or joins more than 32 primitives with and/or',
  PCAPD_ERR_LOOKBACK_NOT_WARM: 'lookback asked on an interface that is not warm (or on several interfaces): no packets from before the request are kept there',
  PCAPD_ERR_LIMIT_TOO_SMALL: 'the byte limit cannot hold the file headers and one packet',
  PCAPD_ERR_CAPTURE_FAILED: 'the capture failed while running (for example the interface disappeared)',
  PCAPD_ERR_DEVICE_LIST: 'libpcap could not list the interfaces',

  // Requests (any listener)
  PCAPD_ERR_REQUEST_JSON: 'the request is not valid JSON (or not a JSON object)',
  PCAPD_ERR_REQUEST_TOO_LARGE: 'the request is larger than general.maxrequestbytes',
  PCAPD_ERR_REQUEST_INVALID: 'a request field has the wrong type or an out-of-range value (the path is named)',
  PCAPD_ERR_REQUEST_UNKNOWN_FIELD: 'the request has a field pcapd does not know (typos are rejected, not ignored)',
  PCAPD_ERR_REQUEST_TARGET: 'the request must name exactly one of node or nodere',
  PCAPD_ERR_REQUEST_INTERFACE: 'the request must name exactly one of interface or alias',
  PCAPD_ERR_NODERE_INVALID: 'nodere is not a valid RE2 regular expression, or is too expensive to compile',
  PCAPD_ERR_ALIAS_UNKNOWN: 'an alias is not configured in any [[interface]] block',
  PCAPD_ERR_FOLDER_INVALID: 'folder is absolute, contains .. or characters outside the allowed set, or an unknown %-directive or {placeholder}',
  PCAPD_ERR_NAME_INVALID: 'name is empty, longer than 64 bytes, contains a path separator or .., or characters outside A-Z a-z 0-9 . _ -',
  PCAPD_ERR_NAME_TAKEN: 'a running or queued capture already has this name',
  PCAPD_ERR_OVERRIDE_NOT_ALLOWED: 'a per-request S3 override (bucket, endpoint, region, acl) is not on the configured allowlist',
  PCAPD_ERR_REQUEST_STALE: 'the request timestamp is older than general.staleafter seconds (or in the future)',
  PCAPD_ERR_REQUEST_DUPLICATE: 'a request with this id was already accepted',
  PCAPD_ERR_REQUEST_UNSIGNED: 'this node accepts only signed requests ([signing] required = true)',
  PCAPD_ERR_SIGNATURE_INVALID:
    'a signed request whose signature does not match any [signing] secret, is malformed, lacks id or timestamp, or whose timestamp is outside the replay window',
  PCAPD_ERR_EVE_INVALID: 'a Suricata EVE alert event is malformed or names no capturable flow (the field is named)',

  // Scheduler and API
  PCAPD_ERR_ADMISSION_FULL: 'no capture slot or memory budget is free and the queue is full',
  PCAPD_ERR_SHUTTING_DOWN: 'pcapd is shutting down and takes no new requests',
  PCAPD_ERR_CAPTURE_NOT_FOUND: 'no capture with this id is known (or it is no longer retained)',
  PCAPD_ERR_CAPTURE_FILE_GONE: 'the file the local sink wrote for this capture was deleted or moved since',
  PCAPD_ERR_UNAUTHORIZED: 'the HTTP API needs a valid bearer token',
  PCAPD_ERR_NOT_FOUND: 'no such HTTP route',
  PCAPD_ERR_PATH_INVALID:
    'a path under general.localdir (GET /files/...) is empty, absolute, has "..", ".", a hidden or empty component, an encoded dot, slash or backslash, a NUL, a backslash, leads outside the root through a symlink, or is not a .pcap/.pcapng file',
  PCAPD_ERR_FILE_NOT_FOUND: 'no capture file at this path under general.localdir (never written, or removed since)',
  PCAPD_ERR_RANGE_NOT_SATISFIABLE: 'the Range header asks for bytes past the end of the file (the answer carries Content-Range: bytes */size)',
  PCAPD_ERR_INTERNAL: 'an unexpected internal error (a bug: the log line has the stack)',

  // Broker listeners, result events and `pcapd request`
  PCAPD_ERR_REPLY_INVALID:
    'reply is not redis:<channel>, kafka:<topic> or sqs:<queue-url>, names a listener that is not enabled, or an SQS queue on another endpoint',
  PCAPD_ERR_BROKER_CONNECTION: 'a listener lost or could not open its broker connection (it reconnects with backoff)',
  PCAPD_ERR_BROKER_RECEIVE: 'reading requests from the broker failed (retried with backoff)',
  PCAPD_ERR_BROKER_ACK: 'committing, deleting or acknowledging a message failed: the broker may deliver it again',
  PCAPD_ERR_RESULT_PUBLISH: 'a result event could not be published (the capture itself is unaffected)',
  PCAPD_ERR_WAIT_TIMEOUT: '`pcapd request --wait` saw no result event within --timeout',
  PCAPD_ERR_USAGE: 'the command line is malformed (unknown flag, missing or bad value)',

  // Configuration
  PCAPD_ERR_CONFIG_INVALID: 'the configuration file has an unknown key or a bad value (the key path is named)',
  PCAPD_ERR_CONFIG_READ: 'the configuration file cannot be read or is not valid TOML',

  // Delivery
  PCAPD_ERR_SINK_LOCAL: 'writing the capture file under general.localdir failed',
  PCAPD_ERR_SINK_FAILED: 'a sink failed with an unexpected error (see the log line)',
  PCAPD_ERR_SINK_S3: 'uploading to S3 failed (the S3 error code and HTTP status are named)',
  PCAPD_ERR_SINK_CLOUDSHARK: "uploading to Cloudshark failed (the HTTP status and Cloudshark's message are named)",
  PCAPD_ERR_SINK_NOT_CONFIGURED: 'a spooled capture waits for a sink that the configuration no longer enables',

  // Spool (captures kept on disk until every sink has them)
  PCAPD_ERR_SPOOL_FULL: "the spool's disk is full (ENOSPC) or the capture is larger than spool.maxbytes: it is not kept for the sinks that failed",
  PCAPD_ERR_SPOOL_WRITE: 'a capture could not be written to the spool (the errno code is named): it is not kept for the sinks that failed',
  PCAPD_ERR_SPOOL_READ: 'a spooled capture could not be read back (a missing or damaged file)',
  PCAPD_ERR_SPOOL_CULLED: 'a spooled capture was removed before every sink had it: older than spool.maxage, or evicted to stay within spool.maxbytes',
  PCAPD_ERR_SPOOL_LOCKED: 'another running pcapd holds the spool directory',
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

/**
 * A sink's failure. `retriable` says whether the same delivery may succeed
 * later unchanged (a server down, a timeout, a full disk); the spool's one
 * retry helper decides from it alone. A non-retriable failure (a bucket name
 * S3 refuses, a file name the local sink refuses) stays in the spool, failed,
 * until a config reload or `pcapd spool retry` tries it again, or the cull
 * removes it.
 */
export class SinkError extends PcapdError {
  readonly sink: string;
  readonly retriable: boolean;

  constructor(code: ErrorCode, sink: string, message: string, options: { retriable: boolean; cause?: unknown }) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.sink = sink;
    this.retriable = options.retriable;
  }
}

/** A code from outside TypeScript (the addon, a file read back): itself when it is a known code, else `fallback`. */
export function knownCode(code: string, fallback: ErrorCode): ErrorCode {
  return isErrorCode(code) ? code : fallback;
}

/** The code of a PcapdError or of a native error carrying a known `code`. */
export function errorCodeOf(err: unknown): ErrorCode | undefined {
  if (err instanceof PcapdError) return err.code;
  if (err instanceof Error && 'code' in err && isErrorCode(err.code)) return err.code;
  return undefined;
}

/** A system or library error's own `code` (ENOSPC, ECONNREFUSED, UND_ERR_…), whatever it is. */
export function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
