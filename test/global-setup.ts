/**
 * Runs once before the suite: checks that every external command the tests call
 * is installed, then compiles src/ to dist/ so tests that start the real daemon
 * (bin/pcapd) run the code under test, not a stale build.
 */
import { execFileSync } from 'node:child_process';

import { missingTestCommands } from './helpers/exec.js';

export default function setup(): void {
  const missing = missingTestCommands();
  if (missing.length > 0) {
    throw new Error(`commands the tests need are missing: ${missing.join(', ')}. Run scripts/install.sh --test.`);
  }
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
