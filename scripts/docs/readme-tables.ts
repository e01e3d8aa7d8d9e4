/**
 * The README's reference tables, generated from the code so they cannot drift:
 * every config key (from the zod config schema: type, default, description),
 * every request field (from the request schema), every error code (from
 * src/errors.ts), every metric (from the metrics registry) and the command
 * line's usage (pcapd --help, src/commands/help.ts).
 *
 *   npx tsx scripts/docs/readme-tables.ts          rewrite README.md between the markers
 *   npx tsx scripts/docs/readme-tables.ts --check  exit 1 when README.md is out of date
 *
 * test/docs/readme.test.ts runs the check, so an undocumented key, field, code
 * or metric fails the suite.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { z } from 'zod';

import { topLevelUsage } from '../../src/commands/help.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { ERROR_CODES } from '../../src/errors.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { CaptureRequestSchema } from '../../src/model/request.js';

type JsonSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
};

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function typeOf(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(' or ');
  if (schema.type === 'array') return `array of ${schema.items ? typeOf(schema.items) : 'values'}`;
  if (schema.type === 'object') return 'table';
  if (schema.type === 'integer' || schema.type === 'number') {
    const min = schema.minimum ?? (schema.exclusiveMinimum === undefined ? undefined : schema.exclusiveMinimum + 1);
    const max = schema.maximum !== undefined && schema.maximum < MAX_SAFE ? schema.maximum : undefined;
    const name = schema.type === 'integer' ? 'integer' : 'number';
    if (min !== undefined && max !== undefined) return `${name} ${min}–${max}`;
    if (min !== undefined) return `${name} ≥ ${min}`;
    return name;
  }
  if (schema.type === 'string' && schema.format === 'date-time') return 'ISO 8601 date-time';
  return String(schema.type ?? 'any');
}

function defaultOf(schema: JsonSchema): string {
  if (schema.default === undefined) return '(unset)';
  return `\`${JSON.stringify(schema.default)}\``;
}

function describe(path: string, schema: JsonSchema, missing: string[]): string {
  if (!schema.description) missing.push(path);
  return schema.description ?? '';
}

export function configTables(missing: string[] = []): string {
  const root = z.toJSONSchema(ConfigSchema, { io: 'input' }) as JsonSchema;
  const out: string[] = [];
  for (const [section, sectionSchema] of Object.entries(root.properties ?? {})) {
    const isArray = sectionSchema.type === 'array';
    const table = isArray ? sectionSchema.items : sectionSchema;
    out.push(`#### ${isArray ? `[[${section}]]` : `[${section}]`}`, '');
    if (sectionSchema.description) out.push(`${sectionSchema.description}.`, '');
    out.push('| key | type | default | what it does |', '| --- | --- | --- | --- |');
    for (const [key, schema] of Object.entries(table?.properties ?? {})) {
      const path = `${section}.${key}`;
      out.push(`| \`${key}\` | ${cell(typeOf(schema))} | ${cell(defaultOf(schema))} | ${cell(describe(path, schema, missing))} |`);
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}

export function requestTable(missing: string[] = []): string {
  const root = z.toJSONSchema(CaptureRequestSchema, { io: 'input' }) as JsonSchema;
  const out = ['| field | type | what it does |', '| --- | --- | --- |'];
  for (const [field, schema] of Object.entries(root.properties ?? {})) {
    out.push(`| \`${field}\` | ${cell(typeOf(schema))} | ${cell(describe(field, schema, missing))} |`);
    for (const [sub, subSchema] of Object.entries(schema.properties ?? {})) {
      out.push(`| \`${field}.${sub}\` | ${cell(typeOf(subSchema))} | ${cell(describe(`${field}.${sub}`, subSchema, missing))} |`);
    }
  }
  return out.join('\n');
}

export function errorTable(): string {
  const out = ['| code | meaning |', '| --- | --- |'];
  for (const [code, meaning] of Object.entries(ERROR_CODES)) out.push(`| \`${code}\` | ${cell(meaning)} |`);
  return out.join('\n');
}

/**
 * One row per registered metric, from the registry itself: name, type, help
 * and the label names it was declared with (a histogram's `le` is implied).
 * Read from the metric objects, not from collected values, so a labelled
 * metric that has not counted anything yet still shows its labels.
 */
export function metricsTable(): string {
  const metrics = new Metrics({ version: 'docs', libpcap: 'docs', defaults: false });
  const out = ['| metric | type | labels | meaning |', '| --- | --- | --- | --- |'];
  for (const metric of metrics.registry.getMetricsAsArray()) {
    // prom-client keeps the declared labelNames on each metric but does not type them.
    const labels = (metric as { labelNames?: readonly string[] }).labelNames ?? [];
    out.push(`| \`${metric.name}\` | ${metric.type} | ${labels.map((l) => `\`${l}\``).join(', ')} | ${cell(metric.help)} |`);
  }
  return out.join('\n');
}

export function generatedSections(): Record<string, string> {
  return {
    config: configTables(),
    request: requestTable(),
    errors: errorTable(),
    metrics: metricsTable(),
    cli: ['```text', topLevelUsage(), '```'].join('\n'),
  };
}

export function replaceSections(readme: string, sections: Record<string, string>): string {
  let out = readme;
  for (const [name, body] of Object.entries(sections)) {
    const begin = `<!-- generated:${name}:begin -->`;
    const end = `<!-- generated:${name}:end -->`;
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README.md has no ${begin} … ${end} markers`);
    out = `${out.slice(0, from + begin.length)}\n${body}\n${out.slice(to)}`;
  }
  return out;
}

async function main(): Promise<void> {
  const missing: string[] = [];
  configTables(missing);
  requestTable(missing);
  if (missing.length > 0) {
    console.error(`undescribed schema keys (add .describe() in the schema):\n  ${missing.join('\n  ')}`);
    process.exit(1);
  }
  const current = readFileSync(README, 'utf8');
  const next = replaceSections(current, generatedSections());
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error('README.md is out of date: run npx tsx scripts/docs/readme-tables.ts');
      process.exit(1);
    }
    return;
  }
  if (next !== current) writeFileSync(README, next);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
