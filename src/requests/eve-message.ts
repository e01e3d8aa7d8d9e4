/**
 * Listeners with messages = "eve" carry raw Suricata EVE lines, as Suricata's
 * own redis and kafka outputs publish them (or a shipper forwards eve.json).
 * An alert becomes the request `{"eve": <the line>}`; every other event type
 * (flow, dns, stats, ...) is ignored quietly, since a busy sensor publishes
 * many of them for each alert.
 */
import type { Config, MessageKind } from '../config/schema.js';
import { PcapdError } from '../errors.js';
import { parseJsonObject } from '../json.js';

/** EVE event types counted by name; any other is counted as "other" (the label set stays bounded). */
const KNOWN_EVENT_TYPES = new Set([
  'anomaly',
  'dcerpc',
  'dhcp',
  'dnp3',
  'dns',
  'drop',
  'fileinfo',
  'flow',
  'frame',
  'ftp',
  'ftp_data',
  'http',
  'http2',
  'ike',
  'krb5',
  'modbus',
  'mqtt',
  'netflow',
  'nfs',
  'pgsql',
  'quic',
  'rdp',
  'rfb',
  'sip',
  'smb',
  'smtp',
  'snmp',
  'ssh',
  'stats',
  'tftp',
  'tls',
]);

export type EveMessage = { kind: 'alert'; body: string } | { kind: 'other'; eventType: string };

/** What the messages of the listener named `source` are. */
export function messageKindOf(config: Config, source: string): MessageKind {
  switch (source) {
    case 'redis':
      return config.redis.messages;
    case 'kafka':
      return config.kafka.messages;
    case 'sqs':
      return config.sqs.messages;
    default:
      return 'request';
  }
}

/**
 * Suricata writes flow_id as a bare 64-bit integer, which JSON.parse would
 * round above 2^53; quoted, its digits survive. A `"flow_id"` inside a JSON
 * string has escaped quotes and never matches.
 */
export function quoteFlowIds(text: string): string {
  // Every request body passes here; only EVE events carry the key.
  if (!text.includes('"flow_id"')) return text;
  return text.replace(/"flow_id"(\s*):(\s*)(-?\d+)/g, '"flow_id"$1:$2"$3"');
}

/**
 * One EVE line -> the request text for an alert, or the event type of
 * anything else. Throws PcapdError for a line that is not a JSON object;
 * the size limit is checked by the request parser afterwards.
 */
export function eveMessageOf(body: string | Buffer, maxBytes: number): EveMessage {
  const bytes = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  if (bytes > maxBytes) {
    throw new PcapdError('PCAPD_ERR_REQUEST_TOO_LARGE', `the EVE line is ${bytes} bytes; general.maxrequestbytes allows ${maxBytes}`);
  }
  const text = (typeof body === 'string' ? body : body.toString('utf8')).trim();
  const event = parseJsonObject(text, 'the EVE line');
  const eventType = event['event_type'];
  if (eventType !== 'alert') {
    const known = typeof eventType === 'string' && KNOWN_EVENT_TYPES.has(eventType);
    return { kind: 'other', eventType: known ? eventType : 'other' };
  }
  return { kind: 'alert', body: `{"eve":${text}}` };
}
