/**
 * The one capture request schema, whatever listener a request came from:
 * pcapdaemon's message fields read unchanged, plus pcapd's optional additions.
 * The TypeScript type is derived from it; the JSON Schema served by the HTTP
 * API and shown in the README is generated from it (requestJsonSchema()).
 *
 * Unknown fields are rejected, types are never coerced: a string "50" for
 * packets is an error, not 50.
 */
import { z } from 'zod';

import { CAPTURE_FORMATS } from '../config/schema.js';

/** Limits are whole non-negative numbers; 0 means "use the configured default", as in pcapdaemon. */
const limit = () => z.number().int().nonnegative();
const name = () => z.string().min(1).max(255);

/** Result events a request can ask for: once armed, and the final outcome. */
export const REPLY_EVENTS = ['armed', 'done'] as const;
export type ReplyEvent = (typeof REPLY_EVENTS)[number];

export const REQUEST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const CaptureRequestSchema = z
  .strictObject({
    // pcapdaemon fields
    node: name().optional().describe('capture on this node only (exact name); "any" matches every node'),
    nodere: z.string().min(1).max(1024).optional().describe('capture on nodes whose name matches this RE2 regular expression'),
    interface: z.array(name()).min(1).max(16).optional().describe('interfaces to capture on'),
    alias: z.array(name()).min(1).max(16).optional().describe('interface aliases from [[interface]] blocks'),
    tags: z.string().max(1024).optional().describe('comma-separated tags for the capture'),
    bpf: z.string().max(8192).optional().describe('BPF filter (libpcap syntax), at most 32 primitives joined by and/or; empty captures everything'),
    customer: z.string().max(256).optional().describe('free-form customer name for naming and tagging'),
    snap: limit().optional().describe('snap length in bytes (0: general.snaplength); clamped to general.maxsnaplength'),
    packets: limit().optional().describe('stop after this many packets (0: general.maxpackets); clamped'),
    alertid: z
      .union([z.number().int(), z.string().min(1).max(128)])
      .optional()
      .describe('the alert or event this capture is for'),
    timeout: limit().optional().describe('idle seconds after the last packet (0: general.defaulttimeout); clamped to maxtimeout'),
    duration: limit().optional().describe('wall-clock seconds (0: general.maxduration); clamped'),
    bytes: limit().optional().describe('largest file size in bytes, headers included (0: general.maxbytes); clamped'),
    packetdebug: z.boolean().optional().describe('log a one-line summary per packet'),
    logrequest: z.boolean().optional().describe('log this request as received'),
    folder: z.string().max(1024).optional().describe('sub-folder under the local root and S3 prefix; never leaves them'),
    bucket: z.string().max(255).optional().describe('S3 bucket override (allowlist)'),
    acl: z.string().max(64).optional().describe('S3 canned ACL override (allowlist)'),
    region: z.string().max(64).optional().describe('S3 region override (allowlist)'),
    endpoint: z.string().max(2048).optional().describe('S3 endpoint override (allowlist)'),
    encryption: z.boolean().optional().describe('S3 server-side encryption (AES256)'),
    // pcapd additions
    id: z
      .string()
      .regex(REQUEST_ID_PATTERN, 'id: 1-128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit')
      .optional()
      .describe('request id: names the files, deduplicates, and is used to query or cancel'),
    format: z.enum(CAPTURE_FORMATS).optional().describe('pcapng (default): one file for all interfaces; pcap: one per interface'),
    segment: z
      .strictObject({
        seconds: z.number().int().positive().optional().describe('close and deliver a segment this often'),
        bytes: z.number().int().min(4096).optional().describe('close and deliver a segment before it exceeds this size'),
      })
      .optional()
      .describe('cut a long capture into segments delivered as they close'),
    lookback: limit()
      .optional()
      .describe(
        "start the file this many seconds before the request, from a warm interface's ring; clamped to general.maxlookback and the ring's lookbackseconds",
      ),
    eve: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('a Suricata EVE alert event, in place of bpf: pcapd captures that flow, both directions, until it ends (see README: flow captures)'),
    reply: z.string().min(1).max(2048).optional().describe('where the result event goes (see README: result events)'),
    replyon: z
      .array(z.enum(REPLY_EVENTS))
      .min(1)
      .max(REPLY_EVENTS.length)
      .optional()
      .describe('which result events go to reply: "armed" (the capture is recording: state "capturing") and "done" (the final outcome; the default)'),
    timestamp: z
      .union([z.number().nonnegative(), z.iso.datetime({ offset: true })])
      .optional()
      .describe('when the request was made (epoch seconds or ISO 8601); stale requests are dropped'),
  })
  .describe('pcapd capture request');

export type CaptureRequest = z.output<typeof CaptureRequestSchema>;

export function requestJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(CaptureRequestSchema, { target: 'draft-2020-12' });
}
