/**
 * Runs once before the suite: compiles src/ to dist/ so tests that start the
 * real daemon (bin/pcapd) run the code under test, not a stale build.
 */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
