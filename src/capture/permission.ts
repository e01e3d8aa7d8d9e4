/**
 * Whether this process may capture, read from its own effective
 * capabilities: opening a packet socket needs CAP_NET_RAW, promiscuous mode
 * and ring setup CAP_NET_ADMIN. Checked once at start so a pcapd that cannot
 * capture says so in one line, and in /healthz and /stats, instead of each
 * capture failing later.
 */
import { readFileSync } from 'node:fs';

const CAP_NET_ADMIN = 12n;
const CAP_NET_RAW = 13n;

export interface CapturePermission {
  permitted: boolean;
  /** Capabilities pcapd lacks for capturing ("CAP_NET_RAW", "CAP_NET_ADMIN"). */
  missing: string[];
}

/** `status` is /proc/self/status's text (a parameter for tests). */
export function capturePermission(status: string = readFileSync('/proc/self/status', 'utf8')): CapturePermission {
  const hex = /^CapEff:\s*([0-9a-f]+)$/im.exec(status)?.[1];
  // Without the line (not Linux procfs) nothing can be said: assume permitted, captures report their own errors.
  if (hex === undefined) return { permitted: true, missing: [] };
  const effective = BigInt(`0x${hex}`);
  const missing: string[] = [];
  if (((effective >> CAP_NET_RAW) & 1n) === 0n) missing.push('CAP_NET_RAW');
  if (((effective >> CAP_NET_ADMIN) & 1n) === 0n) missing.push('CAP_NET_ADMIN');
  return { permitted: missing.length === 0, missing };
}

/** The one line that says how to grant them. */
export function permissionAdvice(missing: readonly string[]): string {
  return (
    `pcapd cannot capture: it lacks ${missing.join(' and ')}. Run it as root, under the shipped systemd unit ` +
    `(AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN), or grant them to its node binary: setcap cap_net_raw,cap_net_admin+eip <node>`
  );
}
