/**
 * A request's `name` names a long-running capture: it is an address in the
 * HTTP API (/captures/:name), a {name} in file names and folders, and the key
 * of the capture's ring of files. So it is checked by allow-list, as folders
 * are: one plain path component, never hidden, never "..".
 */
import { PcapdError } from '../errors.js';
import { quoted } from '../text.js';

export const CAPTURE_NAME_MAX_BYTES = 64;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/u;

/** Returns `name` unchanged when it is safe; throws PCAPD_ERR_NAME_INVALID. */
export function checkCaptureName(name: string): string {
  const problem = nameProblem(name);
  if (problem !== undefined) throw new PcapdError('PCAPD_ERR_NAME_INVALID', `/name: ${quoted(name)} ${problem}`);
  return name;
}

function nameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (Buffer.byteLength(name, 'utf8') > CAPTURE_NAME_MAX_BYTES) return `is longer than ${CAPTURE_NAME_MAX_BYTES} bytes`;
  if (name.includes('/') || name.includes('\\')) return 'contains a path separator; a name is one plain word such as "sip-eth1"';
  if (name.includes('..')) return 'contains ".."; a name never names a folder';
  if (!NAME.test(name)) return 'may contain only A-Z a-z 0-9 . _ - and must start with a letter or digit';
  return undefined;
}
