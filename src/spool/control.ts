/**
 * Requests from `pcapd spool retry|cull` to the running daemon, and its
 * answers: small JSON files in <spool>/control/, each written atomically.
 * The daemon watches the folder; the command waits for its answer file.
 */
import { randomBytes } from 'node:crypto';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { z } from 'zod';

import { errnoCode } from '../errors.js';
import { CONTROL_FILE_MODE, writeFileAtomic } from '../fs/durable.js';
import { readJsonFile } from './json-file.js';

export type ControlAction = 'retry' | 'cull';

export interface ControlRequest {
  action: ControlAction;
  /** Entry keys or capture ids; empty: all. */
  targets: string[];
  requestedAt: string;
}

export interface ControlResult {
  ok: boolean;
  message: string;
  rearmed?: string[];
  removed?: Array<{ key: string; reason: string }>;
}

const ControlRequestSchema = z.object({
  action: z.enum(['retry', 'cull']),
  targets: z.array(z.string()),
  requestedAt: z.string(),
});

const ControlResultSchema = z.object({
  ok: z.boolean(),
  message: z.string(),
  rearmed: z.array(z.string()).optional(),
  removed: z.array(z.object({ key: z.string(), reason: z.string() })).optional(),
});

export class SpoolControl {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async writeRequest(request: ControlRequest): Promise<string> {
    const id = `${Date.now()}-${randomBytes(4).toString('hex')}`;
    await writeFileAtomic(join(this.dir, `${id}.request.json`), JSON.stringify(request), { mode: CONTROL_FILE_MODE });
    return id;
  }

  /** Pending requests, oldest first; an unreadable one is answered as refused and dropped. */
  async takeRequests(): Promise<Array<{ id: string; request: ControlRequest }>> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err: unknown) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
    const requests: Array<{ id: string; request: ControlRequest }> = [];
    for (const name of names.filter((n) => n.endsWith('.request.json')).sort()) {
      const id = name.slice(0, -'.request.json'.length);
      const parsed = await readJsonFile(join(this.dir, name), ControlRequestSchema);
      await unlink(join(this.dir, name)).catch(() => undefined);
      if (parsed.ok) requests.push({ id, request: parsed.value });
      else await this.writeResult(id, { ok: false, message: `unreadable request: ${parsed.problem}` });
    }
    return requests;
  }

  async writeResult(id: string, result: ControlResult): Promise<void> {
    await writeFileAtomic(join(this.dir, `${id}.result.json`), JSON.stringify(result), { mode: CONTROL_FILE_MODE });
  }

  /** The daemon's answer, once there; undefined while it is not. Removes it once read. */
  async takeResult(id: string): Promise<ControlResult | undefined> {
    const path = join(this.dir, `${id}.result.json`);
    const parsed = await readJsonFile(path, ControlResultSchema);
    if (!parsed.ok) return undefined;
    await unlink(path).catch(() => undefined);
    const { ok, message, rearmed, removed } = parsed.value;
    return { ok, message, ...(rearmed === undefined ? {} : { rearmed }), ...(removed === undefined ? {} : { removed }) };
  }

  async withdrawRequest(id: string): Promise<void> {
    await unlink(join(this.dir, `${id}.request.json`)).catch(() => undefined);
  }
}
