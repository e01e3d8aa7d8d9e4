import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

// Under `npm run test:asan` the sanitizer runtime is preloaded into node; the
// tools the tests call (ip, tcpreplay, tshark) must not inherit it (they hang
// or crash under a foreign ASan runtime).
function childEnv(): NodeJS.ProcessEnv {
  const { LD_PRELOAD: _preload, ...env } = process.env;
  return env;
}

/** Runs a command; rejects with its stderr when it fails. */
export async function run(command: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, env: childEnv() });
    return stdout;
  } catch (err: unknown) {
    const stderr = typeof err === 'object' && err !== null && 'stderr' in err ? String(err.stderr) : '';
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr || String(err)}`, { cause: err });
  }
}
