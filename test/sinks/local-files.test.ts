/**
 * The walk under general.localdir that GET /files pages through: order,
 * resuming after a cursor in any folder, and the bound on the files one page
 * looks at, on a real folder tree in a temp directory.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { listLocalFiles, MAX_EXAMINED_PER_PAGE, walkCaptureFiles } from '../../src/sinks/local-files.js';

let root: string;

const TREE = ['a.pcap', 'b/c.pcapng', 'b/d/e.pcap', 'b/d/f.pcap', 'b/g.pcap', 'h.pcapng', 'i/j.pcap'];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pcapd-local-files-'));
  for (const path of TREE) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), path);
  }
  // Never capture files: another extension, hidden entries (a temp file being written, a sidecar, a hidden folder).
  await writeFile(join(root, 'notes.txt'), 'x');
  await writeFile(join(root, 'b', '.g.pcap.1a2b3c.tmp'), 'x');
  await writeFile(join(root, 'b', '.g.pcap.json'), '{}');
  await mkdir(join(root, '.trash'));
  await writeFile(join(root, '.trash', 'k.pcap'), 'x');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function walked(after?: string): Promise<string[]> {
  const paths: string[] = [];
  for await (const found of walkCaptureFiles(root, after?.split('/'))) paths.push(found.path);
  return paths;
}

describe('walkCaptureFiles', () => {
  it('finds every capture file in path order and nothing hidden or of another kind', async () => {
    expect(await walked()).toEqual(TREE);
  });

  it('resumes right after any path, in any folder', async () => {
    for (const [i, path] of TREE.entries()) expect(await walked(path), path).toEqual(TREE.slice(i + 1));
    // After a path that no longer exists (removed between two pages): from where it would sort.
    expect(await walked('b/d/ee.pcap')).toEqual(['b/d/f.pcap', 'b/g.pcap', 'h.pcapng', 'i/j.pcap']);
  });

  it('holds nothing for a root that does not exist yet', async () => {
    const paths: string[] = [];
    for await (const found of walkCaptureFiles(join(root, 'no-such-root'))) paths.push(found.path);
    expect(paths).toEqual([]);
  });
});

describe('listLocalFiles', () => {
  it('pages by limit with the last path as the cursor', async () => {
    const first = await listLocalFiles(root, { limit: 3 });
    expect(first.files.map((file) => file.path)).toEqual(TREE.slice(0, 3));
    expect(first.next).toBe(TREE[2]);
    const rest = await listLocalFiles(root, { limit: 10, after: first.next! });
    expect(rest.files.map((file) => file.path)).toEqual(TREE.slice(3));
    expect(rest.next).toBeUndefined();
  });

  it(`looks at no more than ${MAX_EXAMINED_PER_PAGE} files per page, and a filter that matches none still ends`, async () => {
    const many = join(root, 'many');
    await mkdir(many);
    const count = MAX_EXAMINED_PER_PAGE + 500;
    await Promise.all(Array.from({ length: count }, (_, i) => writeFile(join(many, `${String(i).padStart(5, '0')}.pcap`), '')));
    try {
      const first = await listLocalFiles(join(many), { limit: 100, id: 'matches-nothing' });
      expect(first.files).toEqual([]);
      expect(first.next).toBe(`${String(MAX_EXAMINED_PER_PAGE - 1).padStart(5, '0')}.pcap`);
      const second = await listLocalFiles(join(many), { limit: 100, id: 'matches-nothing', after: first.next! });
      expect(second).toEqual({ files: [] });
    } finally {
      await rm(many, { recursive: true, force: true });
    }
  });
});
