/** pcapd's version, read once from package.json. */
import { readFileSync } from 'node:fs';

const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };

export const VERSION = typeof packageJson.version === 'string' ? packageJson.version : '0.0.0';
