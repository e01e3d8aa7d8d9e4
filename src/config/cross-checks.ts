/**
 * Configuration rules the schema cannot express on one key: limits that
 * must agree, settings an enabled section needs, names that must be unique,
 * secrets an exposed API must have.
 */
import { BlockList, isIP } from 'node:net';
import { isAbsolute } from 'node:path';

import { configIssue, type ConfigIssue } from './config-issues.js';
import { normalizeEndpoint } from './endpoint.js';
import { validateFileNamePattern } from './file-name-pattern.js';
import type { Config } from './schema.js';
import { regionOfQueueUrl } from './sqs-url.js';
import { lookbackRingBytes } from './warm.js';

type Interfaces = Config['interface'];
type HttpSection = Config['http'];

/**
 * Checks spanning several keys, on the sections that parsed. Each section is
 * parsed on its own (see buildConfig), so these run, and are reported, even
 * when another section has errors.
 */
export function crossFieldIssues(sections: Partial<Config>): ConfigIssue[] {
  const { interface: interfaces, http, general, cloudshark, s3, spool, signing, scheduler, redis, kafka, sqs } = sections;
  return [
    ...(interfaces ? duplicateInterfaceIssues(interfaces) : []),
    ...(http ? httpTokenIssues(http) : []),
    ...(general ? generalIssues(general) : []),
    ...(cloudshark ? cloudsharkIssues(cloudshark) : []),
    ...(redis ? redisIssues(redis) : []),
    ...(kafka ? kafkaIssues(kafka) : []),
    ...(sqs ? sqsIssues(sqs) : []),
    ...(s3 ? s3Issues(s3) : []),
    ...(spool ? spoolIssues(spool) : []),
    ...(signing && scheduler ? signingIssues(signing, scheduler) : []),
    ...(interfaces && scheduler ? lookbackRingIssues(interfaces, scheduler) : []),
  ];
}

// The rings are allocated at startup and counted in the budget: they must leave room for captures.
function lookbackRingIssues(interfaces: Interfaces, scheduler: Config['scheduler']): ConfigIssue[] {
  const ringBytes = lookbackRingBytes({ interface: interfaces });
  if (ringBytes < scheduler.memorybudget) return [];
  return [configIssue(['scheduler', 'memorybudget'], `must exceed the warm interfaces' lookback rings (${ringBytes} bytes of lookbackbytes), which it counts`)];
}

// An alias shared by several blocks is allowed: as in pcapdaemon, it names all
// of those interfaces (a request for alias "public" captures on each).
function duplicateInterfaceIssues(interfaces: Interfaces): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const nameOwner = new Map<string, number>();
  interfaces.forEach((iface, index) => {
    const firstWithName = nameOwner.get(iface.name);
    if (firstWithName === undefined) nameOwner.set(iface.name, index);
    else issues.push(configIssue(['interface', index, 'name'], nameClash(iface.name, firstWithName)));
  });
  return issues;
}

function nameClash(name: string, ownerIndex: number): string {
  return `${JSON.stringify(name)} is already configured by interface[${ownerIndex}]`;
}

function generalIssues(general: Config['general']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (general.snaplength > general.maxsnaplength) {
    issues.push(configIssue(['general', 'snaplength'], `must be <= general.maxsnaplength (${general.maxsnaplength})`));
  }
  if (general.defaulttimeout > general.maxtimeout) {
    issues.push(configIssue(['general', 'defaulttimeout'], `must be <= general.maxtimeout (${general.maxtimeout})`));
  }
  // A relative root would move with the working directory (systemd runs pcapd from /).
  if (!isAbsolute(general.localdir)) issues.push(configIssue(['general', 'localdir'], 'must be an absolute path'));
  for (const problem of validateFileNamePattern(general.filename)) {
    issues.push(configIssue(['general', 'filename'], problem));
  }
  return issues;
}

function cloudsharkIssues(cloudshark: Config['cloudshark']): ConfigIssue[] {
  if (!cloudshark.upload || cloudshark.token !== '') return [];
  return [configIssue(['cloudshark', 'token'], 'required when cloudshark.upload = true')];
}

function s3Issues(s3: Config['s3']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (s3.upload && (s3.bucket === undefined || s3.bucket === '')) {
    issues.push(configIssue(['s3', 'bucket'], 'required when s3.upload = true'));
  }
  if ((s3.accessid === undefined) !== (s3.accesskey === undefined)) {
    const missing = s3.accessid === undefined ? 'accessid' : 'accesskey';
    issues.push(configIssue(['s3', missing], 'set both accessid and accesskey, or neither (the AWS SDK default credential chain)'));
  }
  if (s3.endpoint !== undefined && s3.endpoint !== '' && normalizeEndpoint(s3.endpoint) === undefined) {
    issues.push(configIssue(['s3', 'endpoint'], 'must be an http(s) URL or a host name'));
  }
  s3.allowendpoints.forEach((endpoint, index) => {
    if (normalizeEndpoint(endpoint) === undefined) {
      issues.push(configIssue(['s3', 'allowendpoints', index], 'must be an http(s) URL or a host name'));
    }
  });
  return issues;
}

function spoolIssues(spool: Config['spool']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  // A relative spool would move with the working directory, and captures with it.
  if (!isAbsolute(spool.dir)) issues.push(configIssue(['spool', 'dir'], 'must be an absolute path'));
  if (spool.retrymax < spool.retrybase) {
    issues.push(configIssue(['spool', 'retrymax'], `must be >= spool.retrybase (${spool.retrybase})`));
  }
  return issues;
}

function signingIssues(signing: Config['signing'], scheduler: Config['scheduler']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (signing.required && signing.secrets.length === 0) {
    issues.push(configIssue(['signing', 'secrets'], 'at least one secret is required when signing.required = true'));
  }
  // A replay inside the window is caught only as a duplicate id.
  if (signing.secrets.length > 0 && scheduler.dedupwindow < signing.window) {
    issues.push(configIssue(['scheduler', 'dedupwindow'], `must be >= signing.window (${signing.window}) so a replayed signed request is a duplicate`));
  }
  return issues;
}

function httpTokenIssues(http: HttpSection): ConfigIssue[] {
  // With the API off, the bind address exposes nothing.
  if (!http.listen || isLoopbackHost(http.host)) return [];
  // An empty or guessable token is no token: the API must not be open beyond loopback.
  if (http.token !== undefined && http.token.length >= MIN_TOKEN_CHARS) return [];
  return [
    configIssue(
      ['http', 'token'],
      `a token of at least ${MIN_TOKEN_CHARS} characters is required when http.host (${JSON.stringify(http.host)}) is not loopback`,
    ),
  ];
}

const MIN_TOKEN_CHARS = 16;

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 (also IPv4-mapped) or localhost. "", 0.0.0.0 and :: bind everywhere. */
export function isLoopbackHost(host: string): boolean {
  if (/^localhost\.?$/i.test(host)) return true;
  const family = isIP(host);
  if (family === 0) return false;
  return LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

// Broker listeners: an enabled listener must have what it needs to connect.

function redisIssues(redis: Config['redis']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (redis.username !== undefined && redis.auth === undefined) {
    issues.push(configIssue(['redis', 'auth'], 'required when redis.username is set (ACL AUTH needs the password)'));
  }
  return issues;
}

function kafkaIssues(kafka: Config['kafka']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (kafka.saslmechanism !== undefined) {
    for (const key of ['saslusername', 'saslpassword'] as const) {
      if (kafka[key] === undefined) issues.push(configIssue(['kafka', key], 'required when kafka.saslmechanism is set'));
    }
  }
  return issues;
}

function sqsIssues(sqs: Config['sqs']): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const key of ['url', 'endpoint', 'results'] as const) {
    const value = sqs[key];
    if (value !== undefined && value !== '' && !isHttpUrl(value)) issues.push(configIssue(['sqs', key], 'must be an http(s) URL'));
  }
  if ((sqs.accessid === undefined) !== (sqs.accesskey === undefined)) {
    const missing = sqs.accessid === undefined ? 'accessid' : 'accesskey';
    issues.push(configIssue(['sqs', missing], 'set both accessid and accesskey, or neither (the AWS SDK default credential chain)'));
  }
  if (!sqs.listen) return issues;
  if (sqs.url === undefined) issues.push(configIssue(['sqs', 'url'], 'required when sqs.listen = true'));
  if (sqs.region === undefined && regionOfQueueUrl(sqs.url) === undefined) {
    issues.push(configIssue(['sqs', 'region'], 'required when sqs.listen = true (unless the queue URL is an AWS one that names it)'));
  }
  return issues;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
