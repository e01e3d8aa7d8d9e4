/**
 * The configuration schema: every key of pcapdaemon's TOML file, read
 * unchanged, plus pcapd's own keys and sections. Unknown keys are rejected
 * with their path; defaults are filled here (pcapdaemon never applied its
 * defaults, so a missing maxpackets refused every request).
 *
 * Durations are whole seconds, as in pcapdaemon. Sizes are bytes.
 */
import { z } from 'zod';

import { syslogPriorityName } from '../log/syslog-priority.js';

const MIB = 1024 * 1024;
/** A warm interface's kernel ring: large, because it is built once and absorbs bursts for every capture attached. */
export const WARM_BUFFER_BYTES_DEFAULT = 32 * MIB;
/** A warm interface's lookback ring. */
export const WARM_LOOKBACK_BYTES_DEFAULT = 64 * MIB;

/** A count or size: a non-negative safe integer. */
const count = () => z.number().int().nonnegative();
const positive = () => z.number().int().positive();
const seconds = () => z.number().int().nonnegative();
const port = () => z.number().int().min(1).max(65535);
const text = (max = 1024) => z.string().max(max);

export const CAPTURE_FORMATS = ['pcapng', 'pcap'] as const;
export type CaptureFormat = (typeof CAPTURE_FORMATS)[number];

const General = z.strictObject({
  // pcapdaemon keys
  maxpackets: positive().default(50_000).describe('largest packet count a request may ask for; also the default'),
  writelocal: z.boolean().default(false).describe('write captures under localdir (the local sink)'),
  localdir: text(4096).min(1).default('/var/lib/pcapd/captures').describe('root folder of the local sink'),
  snaplength: z.number().int().min(1).max(262_144).default(500).describe('default snap length in bytes'),
  defaulttimeout: seconds().default(10).describe('default idle timeout: seconds without packets, counted after the first packet'),
  maxtimeout: positive().default(3600).describe('largest idle timeout a request may ask for'),
  maxduration: positive().default(3600).describe('largest duration a request may ask for; also the default'),
  maxbytes: z.number().int().min(4096).default(100_000_000).describe('largest file size a request may ask for; also the default'),
  packetdebug: z.boolean().default(false).describe('log a one-line summary per captured packet for every request'),
  logrequests: z.boolean().default(false).describe('log every request as received'),
  // pcapd additions
  node: text(255).min(1).optional().describe("this host's node name for node/nodere matching (default: the hostname)"),
  maxsnaplength: z.number().int().min(1).max(262_144).default(262_144).describe('largest snap length a request may ask for'),
  format: z.enum(CAPTURE_FORMATS).default('pcapng').describe('default file format'),
  deliverempty: z.boolean().default(false).describe('deliver captures that caught no packet (pcapdaemon did not)'),
  filename: text(512)
    .min(1)
    .default('{node}-{iface}-%Y%m%dT%H%M%SZ-{id}')
    .describe('file/object name pattern: strftime fields (UTC) and {node} {alertid} {id} {customer} {iface} {segment}; the extension is added'),
  promiscuous: z.boolean().default(true).describe('put interfaces in promiscuous mode'),
  bufferbytes: z
    .number()
    .int()
    .min(MIB)
    .max(1024 * MIB)
    .default(8 * MIB)
    .describe('kernel capture ring per interface of a cold capture (TPACKET_V3, 256 KiB blocks); built for each capture, so larger arms slower'),
  maxrequestbytes: z
    .number()
    .int()
    .min(256)
    .max(MIB)
    .default(64 * 1024)
    .describe('largest request message accepted'),
  staleafter: seconds().default(300).describe('drop requests whose timestamp is older than this many seconds (0: never)'),
  packetdebuglines: count().max(1_000_000).default(1000).describe('most packet summaries logged per capture'),
  maxsegmentbytes: z
    .number()
    .int()
    .min(4096)
    .default(100_000_000)
    .describe(
      'named captures with segments: largest segment.bytes, and the segment size when the request gives none (such a capture runs past maxbytes, holding at most two segments in memory)',
    ),
  maxnamedduration: seconds()
    .default(0)
    .describe(
      'named captures with segments: longest duration (they run past maxduration); 0: unlimited, until DELETE, SIGTERM or a SIGHUP that removes its [[capture]]',
    ),
  maxnamedbytes: count()
    .default(0)
    .describe(
      "named captures: most bytes of a capture's files kept under localdir (its ring's bytes, clamped to this); the oldest are deleted beyond it; 0: no bound beyond the ring",
    ),
  maxlookback: seconds().max(86_400).default(300).describe('largest lookback (seconds before the request) a request may ask for'),
});

const Cloudshark = z.strictObject({
  host: text(255).default('localhost').describe('Cloudshark server name or address'),
  scheme: z.enum(['http', 'https']).default('https').describe('"http" or "https" (certificates are checked; see cafile)'),
  port: z.number().int().min(0).max(65535).default(0).describe("0: the scheme's default port"),
  timeout: seconds().default(0).describe('upload timeout in seconds; 0: none'),
  token: text(256).default('').describe('API token (the upload URL carries it; never logged)'),
  upload: z.boolean().default(false).describe('upload captures to Cloudshark'),
  // pcapd addition: pcapdaemon skipped certificate checks; pcapd verifies them.
  cafile: text(4096).min(1).optional().describe("PEM file of the CA that signed an appliance's certificate (absent: the system CAs)"),
});

/** A Redis key, channel or Kafka topic name as written in the config: printable, no spaces. */
const brokerName = (max: number) => text(max).regex(/^[^\s\p{Cc}]*$/u, 'must not contain spaces or control characters');
export const REDIS_MODES = ['pubsub', 'streams', 'list'] as const;
/** What a listener's messages are: pcapd capture requests, or raw Suricata EVE lines (alerts become flow captures). */
export const MESSAGE_KINDS = ['request', 'eve'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];
const messages = () =>
  z
    .enum(MESSAGE_KINDS)
    .default('request')
    .describe(
      '"request": each message is a pcapd capture request; "eve": each message is one Suricata EVE JSON line as Suricata\'s own outputs publish it (alert events become flow captures, see [flows]; other event types are ignored)',
    );

const Redis = z.strictObject({
  listen: z.boolean().default(false).describe('take capture requests from Redis'),
  host: text(255).default('127.0.0.1').describe('Redis server name or address'),
  port: port().default(6379).describe('Redis server port'),
  channel: brokerName(255).min(1).default('capture').describe('pub/sub channel carrying capture requests (mode = "pubsub")'),
  auth: text(512).optional().describe('password (AUTH)'),
  // pcapd additions
  username: text(255).optional().describe('ACL user name (Redis 6+); without it AUTH uses the password alone'),
  db: z.number().int().min(0).max(65535).default(0).describe('database number (SELECT)'),
  tls: z.boolean().default(false).describe('connect with TLS'),
  tlsca: text(4096).optional().describe('with tls = true: PEM file of the CA that signed the server certificate (default: the system CAs)'),
  mode: z
    .enum(REDIS_MODES)
    .default('pubsub')
    .describe(
      '"pubsub": SUBSCRIBE to channel (requests sent while pcapd is down are lost); "streams": XREADGROUP on stream, acknowledged after delivery; "list": BRPOP from list (Suricata\'s default redis output pushes there; each entry goes to one node)',
    ),
  stream: brokerName(255)
    .min(1)
    .default('capture')
    .describe('stream key carrying capture requests (mode = "streams"); each entry\'s "request" field holds the JSON'),
  list: brokerName(255).min(1).default('suricata').describe('list key popped in mode = "list" (with messages = "eve", Suricata\'s eve-log redis key)'),
  group: brokerName(255).default('').describe('stream consumer group; empty: "pcapd-<node>", so every node sees every request'),
  consumer: brokerName(255).default('').describe('consumer name within the group; empty: the node name'),
  results: brokerName(255).default('').describe('channel that result events of requests from Redis are PUBLISHed to; empty: none'),
  messages: messages(),
});

const kafkaTopic = () => text(249).regex(/^[A-Za-z0-9._-]*$/, 'a Kafka topic name: letters, digits, ".", "_" and "-"');
export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

const Kafka = z.strictObject({
  listen: z.boolean().default(false).describe('take capture requests from Kafka'),
  server: z.array(text(255).min(1)).min(1).default(['127.0.0.1:9092']).describe('bootstrap brokers, host:port'),
  topic: kafkaTopic().min(1).default('capture').describe('topic carrying capture requests (the message value is the request)'),
  // pcapd additions
  group: brokerName(255)
    .default('')
    .describe('consumer group; empty: "pcapd-<node>", so every node sees every request (pcapdaemon\'s fan-out); a shared name splits requests between nodes'),
  frombeginning: z.boolean().default(false).describe('a new consumer group starts at the oldest message instead of the newest'),
  results: kafkaTopic().default('').describe('topic that result events of requests from Kafka are produced to; empty: none'),
  ssl: z.boolean().default(false).describe('connect with TLS'),
  sslca: text(4096).optional().describe('with ssl = true: PEM file of the CA that signed the broker certificates (default: the system CAs)'),
  saslmechanism: z.enum(KAFKA_SASL_MECHANISMS).optional().describe('SASL mechanism: "plain", "scram-sha-256" or "scram-sha-512" (default: no SASL)'),
  saslusername: text(255).optional().describe('SASL user name'),
  saslpassword: text(512).optional().describe('SASL password'),
  messages: messages(),
});

const Syslog = z.strictObject({
  priority: z
    .number()
    .int()
    .min(0)
    .max(191)
    .refine((value) => syslogPriorityName(value) !== undefined, 'facilities 12-15 have no name syslog tools accept; use 0-11 or 16-23 (local0-local7)')
    .default(25)
    .describe('facility * 8 + severity, as in syslog.h (25: daemon.alert)'),
  tag: text(64).min(1).default('pcapd').describe('syslog tag (program name) of every line'),
  socket: text(4096).min(1).default('/dev/log').describe('pcapd: the local syslog socket (a Unix datagram socket) lines are sent to'),
});

const Interface = z.strictObject({
  name: text(255).min(1).describe('interface name on this host'),
  alias: z.array(text(255).min(1)).default([]).describe('names requests may use instead (an alias listed by several blocks names all of them)'),
  // pcapd additions: warm interfaces and their lookback ring
  warm: z
    .boolean()
    .default(false)
    .describe(
      'keep this interface open from startup: captures on it attach to one shared reader (arming in well under a millisecond) and may ask for lookback',
    ),
  lookbackseconds: seconds().max(86_400).default(30).describe('warm only: the lookback ring keeps packets up to this many seconds old'),
  lookbackbytes: z
    .number()
    .int()
    .min(0)
    .max(64 * 1024 * MIB)
    .default(WARM_LOOKBACK_BYTES_DEFAULT)
    .describe('warm only: lookback ring size in bytes, allocated at startup and counted in scheduler.memorybudget; 0: no ring'),
  bufferbytes: z
    .number()
    .int()
    .min(MIB)
    .max(1024 * MIB)
    .default(WARM_BUFFER_BYTES_DEFAULT)
    .describe("warm only: the shared reader's kernel ring (TPACKET_V3), kept for the daemon's lifetime; general.bufferbytes is for cold captures"),
  lookbackfilter: text(8192).default('').describe('warm only: BPF of what the lookback ring keeps (e.g. "not port 22"); empty: every packet'),
});

/**
 * A named capture declared in the config: pcapd starts it at startup, again
 * after a restart, and reconciles it on SIGHUP (started, stopped, or
 * restarted when its block changed). It goes through the same request
 * validation as any request, with source "config".
 */
const Capture = z
  .strictObject({
    // The request's rule (src/requests/capture-name.ts), here so a bad name fails the config, not every start.
    name: text(64)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/u, 'A-Z a-z 0-9 . _ -, starting with a letter or digit')
      .refine((name) => !name.includes('..'), 'must not contain ".."')
      .describe("the capture's name (as a request's name): unique among [[capture]] blocks and running captures"),
    interface: z.array(text(255).min(1)).max(16).default([]).describe('interfaces to capture on (or alias)'),
    alias: z.array(text(255).min(1)).max(16).default([]).describe('interface aliases from [[interface]] blocks (or interface)'),
    bpf: text(8192).default('').describe('BPF filter; empty captures everything'),
    snap: count().default(0).describe('snap length in bytes (0: general.snaplength)'),
    format: z.enum(CAPTURE_FORMATS).optional().describe('file format (default: general.format)'),
    folder: text(1024).optional().describe('sub-folder under localdir and the S3 prefix; strftime fields and {name} allowed ("{name}/%Y/%m/%d")'),
    duration: seconds().default(0).describe('seconds to run (0: general.maxnamedduration, itself 0 for unlimited)'),
    segmentseconds: positive().optional().describe('cut a segment this often (segmentseconds or segmentbytes is required)'),
    segmentbytes: z.number().int().min(4096).optional().describe('cut a segment before it exceeds this size (default: general.maxsegmentbytes)'),
    segmentalign: z.boolean().default(false).describe('cut segmentseconds on the clock (UTC): hourly files start on the hour'),
    ringfiles: count().default(0).describe('keep only this many newest files under localdir (0: no count bound)'),
    ringbytes: count().default(0).describe('keep only this many bytes of the newest files under localdir (0: general.maxnamedbytes)'),
  })
  .refine((block) => block.segmentseconds !== undefined || block.segmentbytes !== undefined, {
    message: 'a [[capture]] runs in segments: give segmentseconds or segmentbytes',
    path: ['segmentseconds'],
  });
export type CaptureBlock = z.output<typeof Capture>;

/** S3's canned ACLs: a typo in the config or a request is refused, not sent. */
export const S3_CANNED_ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
] as const;

const S3 = z.strictObject({
  // pcapdaemon keys
  accessid: text(256).optional().describe('access key id (absent: the AWS SDK default chain: environment, shared files, instance or task role)'),
  accesskey: text(256).optional().describe('secret access key'),
  endpoint: text(2048).optional().describe('S3 endpoint host or URL (absent: AWS S3 for the region); a bare host means https'),
  bucket: text(255).optional().describe('default bucket'),
  folder: text(1024).optional().describe('key prefix (folder) inside the bucket; a request folder goes below it'),
  upload: z.boolean().default(false).describe('upload captures to S3'),
  region: text(64).optional().describe('bucket region (absent: AWS_REGION, else us-east-1)'),
  acl: z.enum(S3_CANNED_ACLS).optional().describe('canned ACL of uploaded objects (absent: the bucket default)'),
  encryption: z.boolean().default(false).describe('server-side encryption: AES256, or aws:kms when kmskeyid is set'),
  // pcapd additions
  kmskeyid: text(2048).min(1).optional().describe('KMS key id or ARN: server-side encryption becomes aws:kms with this key'),
  pathstyle: z.boolean().default(false).describe('path-style URLs (endpoint/bucket/key), which most S3-compatible servers need'),
  partsize: z
    .number()
    .int()
    .min(5 * MIB)
    .max(5120 * MIB)
    .default(8 * MIB)
    .describe('multipart part size in bytes; captures larger than this go up in parts'),
  queuesize: z.number().int().min(1).max(64).default(4).describe('parts uploaded in parallel'),
  timeout: seconds().default(60).describe('seconds an S3 request may stall (no byte moving) before it fails and is retried; 0: none'),
  allowbuckets: z.array(text(255).min(1)).default([]).describe('buckets a request may name (* matches any run of characters); empty: none'),
  allowendpoints: z.array(text(2048).min(1)).default([]).describe('endpoints a request may name (scheme, host and port compared); empty: none'),
  allowregions: z.array(text(64).min(1)).default([]).describe('regions a request may name; empty: none'),
  allowacls: z.array(z.enum(S3_CANNED_ACLS)).default([]).describe('canned ACLs a request may name; empty: none'),
});

const Sqs = z.strictObject({
  listen: z.boolean().default(false).describe('long-poll the SQS queue for capture requests'),
  region: text(64).optional().describe('queue region'),
  accessid: text(256).optional().describe('access key id (default: the AWS SDK credential chain: environment, profile, instance role)'),
  accesskey: text(256).optional().describe('secret access key'),
  url: text(2048).optional().describe('queue URL'),
  waitseconds: z.number().int().min(0).max(20).default(20).describe('long-poll wait per receive, seconds (0 to 20)'),
  chunksize: z.number().int().min(1).max(10).default(10).describe('messages received at once, and captures from SQS running at once (1 to 10)'),
  // pcapd additions
  endpoint: text(2048).optional().describe("SQS endpoint URL for SQS-compatible servers (default: the region's AWS endpoint)"),
  visibilityseconds: z
    .number()
    .int()
    .min(0)
    .max(43_200)
    .default(0)
    .describe("visibility timeout of received messages; 0: the queue's own. Extended while a capture runs longer"),
  results: text(2048).default('').describe('queue URL that result events of requests from SQS are sent to; empty: none'),
  messages: messages(),
});

const Http = z.strictObject({
  listen: z.boolean().default(true).describe('serve the HTTP API (requests, status, downloads, metrics)'),
  host: text(255).default('127.0.0.1').describe('bind address; beyond loopback a token is required'),
  port: z.number().int().min(0).max(65535).default(8347).describe('TCP port of the API (0: any free port, logged at start)'),
  token: text(512).optional().describe('bearer token for every route but /healthz'),
  retainseconds: seconds()
    .default(900)
    .describe(
      'how long a finished capture with no local copy stays downloadable from memory (GET /captures/:id/pcap); a capture the local sink wrote is served from its file',
    ),
  retainbytes: count()
    .default(256 * MIB)
    .describe('memory kept for downloads of captures with no local copy; the oldest are dropped first'),
  history: count().max(100_000).default(1000).describe('finished captures listed by GET /captures'),
});

const Scheduler = z.strictObject({
  maxconcurrent: positive().max(256).default(8).describe('captures running at once'),
  memorybudget: z
    .number()
    .int()
    .min(MIB)
    .default(1024 * MIB)
    .describe('bytes reserved by running captures (each reserves its byte limit); beyond it requests wait or are refused'),
  perinterface: positive().max(256).default(4).describe('captures running at once on one interface'),
  // 64: a burst of 50 requests on one interface (test/daemon/burst.test.ts) is served whole, where 0 refused 46 of 50.
  queue: count()
    .max(10_000)
    .default(64)
    .describe('requests that may wait for a slot, oldest first (64 serves a burst of 50 alerts on one interface; see README); 0: refuse at once when full'),
  queuetimeout: seconds().default(30).describe('a queued request older than this is refused'),
  dedupwindow: seconds().default(3600).describe('request ids remembered to capture duplicates once'),
  drainseconds: seconds().default(30).describe('on SIGTERM, how long to wait for deliveries before exiting'),
});

const Spool = z.strictObject({
  dir: text(4096).min(1).default('/var/lib/pcapd/spool').describe('where captures wait until every sink has them (survives restarts)'),
  maxbytes: z
    .number()
    .int()
    .min(MIB)
    .default(4096 * MIB)
    .describe('spool size limit; beyond it the oldest undelivered captures are culled'),
  maxage: positive()
    .default(7 * 86_400)
    .describe('seconds an undelivered capture is kept before it is culled'),
  retrybase: positive().default(5).describe('seconds before the first retry; doubled per failure, with jitter'),
  retrymax: positive().default(600).describe('longest wait between retries, seconds'),
  cullinterval: positive().default(60).describe('seconds between cull passes'),
});

/**
 * Retention for general.localdir as a whole: a periodic pass removes the
 * oldest capture files past an age or a total size. Off by default (0), so
 * nothing an existing deployment keeps disappears on upgrade.
 */
const Retention = z.strictObject({
  maxbytes: count().default(0).describe('total bytes of capture files kept under general.localdir; beyond it the oldest files are removed (0: no size limit)'),
  maxage: seconds()
    .default(0)
    .describe('capture files under general.localdir older than this many seconds (by modification time) are removed (0: no age limit)'),
  interval: positive().max(86_400).default(300).describe('seconds between retention passes (only while maxbytes or maxage is set)'),
});

/**
 * Flow captures from IDS alerts (a request with `eve`, or a listener with
 * messages = "eve"). Idle timeouts follow the spirit of Suricata's
 * flow-timeouts (established: tcp 600 s, udp and icmp 300 s), shortened: a
 * capture waits on the flow, and a flow that is quiet this long is over for a
 * packet capture's purposes.
 */
const Flows = z.strictObject({
  interface: text(255)
    .default('')
    .describe('interface (or alias) of flow captures whose alert names no in_iface this node has and whose request names none; empty: such alerts are refused'),
  matchhost: z
    .boolean()
    .default(true)
    .describe('an EVE event whose host (Suricata sensor-name) is set is captured only by the node of that name; false: every node the request targets'),
  tcpidle: positive()
    .max(86_400)
    .default(120)
    .describe(
      'a TCP flow capture ends (reason flow-idle) after this many seconds without a packet of the flow; it ends at once (flow-end) on FIN/FIN/ACK or RST',
    ),
  udpidle: positive().max(86_400).default(60).describe('seconds without a packet that end a UDP flow capture (flow-idle)'),
  icmpidle: positive().max(86_400).default(30).describe('seconds without a packet that end an ICMP or ICMPv6 flow capture (flow-idle)'),
  otheridle: positive().max(86_400).default(60).describe('seconds without a packet that end a flow capture of any other protocol, SCTP included (flow-idle)'),
  lookback: seconds()
    .max(86_400)
    .default(60)
    .describe(
      "on a warm interface, how far back a flow capture starts when the alert does not say when the flow began (with flow.start it goes back to the flow's start); clamped to general.maxlookback and the ring",
    ),
  mergewindow: seconds()
    .max(86_400)
    .default(300)
    .describe('an alert for a flow whose capture is running, or ended less than this many seconds ago, is merged into it instead of starting another'),
  mergemax: positive().max(10_000).default(100).describe('alerts listed per flow capture (signature, time); more are counted, not listed'),
});

/** Shortest signing secret: 32 characters carry at least 128 bits when drawn from hex. */
export const MIN_SIGNING_SECRET_CHARS = 32;

const Signing = z.strictObject({
  secrets: z
    .array(text(1024).min(MIN_SIGNING_SECRET_CHARS))
    .max(8)
    .default([])
    .describe('shared HMAC-SHA256 secrets (at least 32 characters); a request signed with any of them is accepted, so a secret can be rotated'),
  required: z.boolean().default(false).describe('refuse unsigned requests on every listener; false: signed requests are checked, unsigned ones accepted'),
  window: positive().max(86_400).default(300).describe("seconds a signed request's timestamp may be from now, either way (its replay window)"),
});

export const ConfigSchema = z.strictObject({
  general: General.default(() => General.parse({})),
  cloudshark: Cloudshark.default(() => Cloudshark.parse({})),
  redis: Redis.default(() => Redis.parse({})),
  kafka: Kafka.default(() => Kafka.parse({})),
  syslog: Syslog.optional().describe('present: logs also go to syslog with this priority and tag'),
  interface: z.array(Interface).default([]).describe('interface aliases (requests name an alias, each host maps it to its own interface) and warm interfaces'),
  capture: z
    .array(Capture)
    .max(256)
    .default([])
    .refine((blocks) => new Set(blocks.map((block) => block.name)).size === blocks.length, 'two [[capture]] blocks have the same name')
    .describe('named captures pcapd runs from startup (restarted after a restart, reconciled on SIGHUP)'),
  s3: S3.default(() => S3.parse({})),
  sqs: Sqs.default(() => Sqs.parse({})),
  http: Http.default(() => Http.parse({})),
  scheduler: Scheduler.default(() => Scheduler.parse({})),
  spool: Spool.default(() => Spool.parse({})),
  retention: Retention.default(() => Retention.parse({})).describe('retention for general.localdir: oldest capture files removed past an age or a total size'),
  signing: Signing.default(() => Signing.parse({})).describe('optional HMAC request signing, for every listener'),
  flows: Flows.default(() => Flows.parse({})).describe('flow captures from Suricata EVE alerts'),
});

export type Config = z.output<typeof ConfigSchema>;
