/**
 * A request's BPF is compiled on the event loop (validateFilter, before
 * anything is opened), and libpcap's optimiser takes time that grows with
 * about the cube of the filter's size. Measured here (libpcap 1.10, a busy
 * 2-CPU machine): "port 0 or port 1 or …" compiles in 35 ms with 50
 * primitives, 230 ms with 100, 1.9 s with 200 and 89 s with 600 (7 KB,
 * within the field's 8192 characters); portrange costs about four times as
 * much per primitive. One such request stalled every listener and the API for
 * as long. At 32 primitives the worst measured was 140 ms (portrange), a
 * list of hosts 11 ms.
 */
import { PcapdError } from '../errors.js';

export const MAX_FILTER_PRIMITIVES = 32;

/** "and", "or", "&&", "||": each joins one more primitive. */
const JOIN = /&&|\|\||\band\b|\bor\b/gi;

/** Throws PCAPD_ERR_BPF_INVALID for a filter joining more than MAX_FILTER_PRIMITIVES primitives. */
export function checkFilterSize(filter: string): void {
  const primitives = (filter.match(JOIN)?.length ?? 0) + 1;
  if (primitives <= MAX_FILTER_PRIMITIVES) return;
  throw new PcapdError(
    'PCAPD_ERR_BPF_INVALID',
    `invalid BPF filter: ${primitives} primitives joined by and/or, at most ${MAX_FILTER_PRIMITIVES} ` +
      '(libpcap takes seconds to optimise larger filters); use net a.b.c.0/24 for a range of addresses',
  );
}
