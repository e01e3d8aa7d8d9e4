/**
 * A request's `folder` names a sub-folder under the local sink's root and the
 * S3 prefix. It must never leave them, so it is checked by allow-list, not
 * normalised: anything that needs normalising is refused, and the sinks can
 * join it to their root as it is.
 *
 * A folder may carry strftime fields and {placeholders} ("sip/%Y/%m/%d",
 * "{name}/%H"), rendered per segment from the segment's start
 * (src/sinks/naming.ts renderFolder). Rendered values are sanitised into one
 * component each, so the rendered folder has the levels checked here.
 */
import { tokenize } from '../config/file-name-pattern.js';
import { PcapdError } from '../errors.js';
import { quoted } from '../text.js';

export const FOLDER_MAX_SEGMENTS = 8;
export const FOLDER_MAX_BYTES = 255;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
/** A template level: the safe set plus %-directives and {placeholders}, which tokenize() checks. */
const TEMPLATE_SEGMENT = /^[A-Za-z0-9._%{}-]+$/;

/** Returns `folder` unchanged when it is safe; throws PCAPD_ERR_FOLDER_INVALID. */
export function checkFolder(folder: string): string {
  const problem = folderProblem(folder);
  if (problem !== undefined) {
    throw new PcapdError('PCAPD_ERR_FOLDER_INVALID', `folder ${quoted(folder)} ${problem}`);
  }
  return folder;
}

function folderProblem(folder: string): string | undefined {
  if (Buffer.byteLength(folder, 'utf8') > FOLDER_MAX_BYTES) return `is longer than ${FOLDER_MAX_BYTES} bytes`;
  if (folder.startsWith('/')) return 'is absolute; give a path relative to the configured root, such as "alerts/2024"';
  if (folder.includes('\\')) return 'contains a backslash; separate folders with /';
  const segments = folder.split('/');
  if (segments.length > FOLDER_MAX_SEGMENTS) return `has more than ${FOLDER_MAX_SEGMENTS} levels`;
  for (const segment of segments) {
    const problem = segmentProblem(segment);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function segmentProblem(segment: string): string | undefined {
  if (segment === '') return 'has an empty segment (leading, trailing or doubled /)';
  if (segment === '.' || segment === '..') return `contains "${segment}"; folders stay under the configured root`;
  if (SEGMENT.test(segment)) return undefined;
  if (!TEMPLATE_SEGMENT.test(segment)) return 'may contain only A-Z a-z 0-9 . _ -, strftime fields such as %Y, {name}, and / between segments';
  for (const token of tokenize(segment)) {
    if (token.kind === 'unknown')
      return `has ${quoted(token.text)}, which is no strftime field (%Y %m %d %H %M %S %j %s %F) or placeholder ({name} {node} {id} …)`;
    if (token.kind === 'text' && /[{}%]/u.test(token.text)) return 'has an unmatched brace';
  }
  return undefined;
}
