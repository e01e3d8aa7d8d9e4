/**
 * The README's reference tables are generated from the code; this fails when
 * a config key, request field, error code or metric is undocumented or the
 * README was not regenerated (npx tsx scripts/docs/readme-tables.ts).
 */
import { readFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import { configTables, generatedSections, replaceSections, requestTable } from '../../scripts/docs/readme-tables.js';
import { Metrics } from '../../src/metrics/metrics.js';

const README = new URL('../../README.md', import.meta.url);

describe('README.md', () => {
  it('describes every config key and request field', () => {
    const missing: string[] = [];
    configTables(missing);
    requestTable(missing);
    expect(missing).toEqual([]);
  });

  it('has the generated config, request, error-code and metric tables up to date', async () => {
    const readme = await readFile(README, 'utf8');
    expect(replaceSections(readme, generatedSections())).toBe(readme);
  });

  it('lists every registered metric with its type and label names', async () => {
    const readme = await readFile(README, 'utf8');
    const rows = new Map<string, { type: string; labels: string[] }>();
    for (const match of readme.matchAll(/^\| `(pcapd_[a-z_]+)` \| (\w+) \| ([^|]*) \|/gm)) {
      const labels = [...(match[3] ?? '').matchAll(/`([a-z_]+)`/g)].map((label) => label[1] ?? '');
      rows.set(match[1] ?? '', { type: match[2] ?? '', labels });
    }
    const registered = new Metrics({ version: 'test', libpcap: 'test', defaults: false }).registry.getMetricsAsArray();
    expect(registered.length).toBeGreaterThan(30);
    for (const metric of registered) {
      const labels = (metric as { labelNames?: readonly string[] }).labelNames ?? [];
      expect(rows.get(metric.name), metric.name).toEqual({ type: metric.type, labels: [...labels] });
    }
    expect(rows.get('pcapd_requests_rejected_total')?.labels).toEqual(['source', 'reason']);
  });

  it('starts with exactly the two commands: run and test', async () => {
    const readme = await readFile(README, 'utf8');
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = firstBlock
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.split('#')[0]?.trim());
    expect(commands).toEqual(['./scripts/run.sh', './scripts/test.sh']);
    expect(readme.indexOf('```sh')).toBeLessThan(readme.indexOf('\n## '));
  });

  it('is what .ci/run runs', async () => {
    const ci = await readFile(new URL('../../.ci/run', import.meta.url), 'utf8');
    expect(ci).toMatch(/^exec scripts\/test\.sh$/m);
  });
});
