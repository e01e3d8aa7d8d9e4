/** Interfaces and filters as libpcap sees them, without opening anything. */
import { PcapdError } from '../errors.js';
import { nativeAddon, type NativeDevice } from './native.js';

export type Device = NativeDevice;

export function listDevices(): Device[] {
  return nativeAddon().listDevices();
}

/** DLT_EN10MB: filters are judged against Ethernet unless a link type is given. */
export const DLT_EN10MB = 1;

/**
 * Compiles `filter` against a dead handle. Throws PCAPD_ERR_BPF_INVALID with
 * libpcap's own message when it does not compile.
 */
export function validateFilter(filter: string, dlt = DLT_EN10MB, snaplenBytes = 262144): { instructions: number } {
  // libpcap reads a C string: the native core refuses a NUL as a bad argument,
  // but in a filter it is the sender's mistake, and says so with this code.
  if (filter.includes('\0')) throw new PcapdError('PCAPD_ERR_BPF_INVALID', 'invalid BPF filter: it contains a NUL character');
  const check = nativeAddon().validateFilter(filter, dlt, snaplenBytes);
  if (!check.ok) throw new PcapdError('PCAPD_ERR_BPF_INVALID', `invalid BPF filter: ${check.error}`);
  return { instructions: check.instructions };
}

export function libpcapVersion(): string {
  return nativeAddon().libVersion();
}
