/**
 * Help everywhere: `pcapd --help` lists every command and the daemon's
 * flags, every command answers --help/-h with its own usage, options and an
 * example (stdout, exit 0), and a mistyped command, flag or option is refused
 * (stderr, non-zero) with the nearest known spelling. Run through bin/pcapd.
 */
import { execFile } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { COMMANDS } from '../../src/commands/help.js';
import { OVERRIDE_FLAGS } from '../../src/config/flags.js';
import { PCAPD_BIN } from '../helpers/daemon.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function pcapd(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    // A config that does not exist: help must not need one, and nothing may start.
    const env = { ...process.env, PCAPD_CONFIG: '/nonexistent/pcapd-help-test.toml' };
    execFile(PCAPD_BIN, args, { timeout: 30_000, env }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`pcapd ${args.join(' ')} did not run: ${err.message}`, { cause: err }));
        return;
      }
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

const COMMAND_NAMES = Object.keys(COMMANDS);

describe('pcapd --help', () => {
  for (const spelling of ['help', '--help', '-help', '-h']) {
    it(`lists every command with a line, and the daemon's flags, for "pcapd ${spelling}"`, async () => {
      const { code, stdout, stderr } = await pcapd([spelling]);
      expect(code).toBe(0);
      expect(stderr).toBe('');
      expect(stdout).toMatch(/^usage: pcapd \[command\]/);
      const commandsPart = stdout.slice(stdout.indexOf('\ncommands:\n'), stdout.indexOf('\ndaemon flags'));
      for (const command of COMMAND_NAMES) expect(commandsPart).toMatch(new RegExp(`^  ${command}\\b.*? {2,}\\S`, 'm'));
      expect(commandsPart.trim().split('\n')).toHaveLength(COMMAND_NAMES.length + 1);
      // pcapdaemon's flags, each with the key it sets.
      for (const [flag, { section, key }] of Object.entries(OVERRIDE_FLAGS)) {
        expect(stdout).toMatch(new RegExp(`^  -${flag}\\b.* sets \\[${section}\\] ${key}\\b`, 'm'));
      }
      for (const flag of ['-config FILE', '-panic', '-h, --help']) expect(stdout).toContain(`  ${flag}`);
      expect(stdout).toContain('examples:');
    });
  }

  it('prints the usage whatever flags follow -h, as Go does, without reading a config', async () => {
    const { code, stdout } = await pcapd(['-config', '/nonexistent/x.toml', '-h']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: pcapd \[run\] \[-config FILE\]/);
  });
});

/** Each command's help: `pcapd CMD --help`, `pcapd CMD -h`, `pcapd help CMD`, and the usage line it starts with. */
const COMMAND_HELP: [string[], RegExp][] = [
  [['run'], /^usage: pcapd \[run\] \[-config FILE\] \[flags\]\n/],
  [['check-config'], /^usage: pcapd check-config \[FILE\] \[flags\]\n/],
  [['interfaces'], /^usage: pcapd interfaces\n/],
  [['schema'], /^usage: pcapd schema\n/],
  [['request'], /^usage: pcapd request \[-config FILE\]/],
  [['spool'], /^usage: pcapd spool list .*\n {7}pcapd spool retry .*\n {7}pcapd spool cull /],
  [['spool', 'list'], /^usage: pcapd spool list \[--json\] \[-config FILE\]\n/],
  [['spool', 'retry'], /^usage: pcapd spool retry \[KEY\|ID \.\.\.\] \[-config FILE\]\n/],
  [['spool', 'cull'], /^usage: pcapd spool cull \[--dry-run\] \[-config FILE\]\n/],
  [['files'], /^usage: pcapd files list .*\n {7}pcapd files prune /],
  [['files', 'list'], /^usage: pcapd files list \[--json\] /],
  [['files', 'prune'], /^usage: pcapd files prune \[--dry-run\] \[-config FILE\]\n/],
  [['version'], /^usage: pcapd version\n/],
  [['help'], /^usage: pcapd help \[COMMAND\]\n/],
];

// Each case spawns its own pcapd; they are independent, so they run side by side.
describe.concurrent('pcapd COMMAND --help', () => {
  it('covers every command', () => {
    expect(new Set(COMMAND_HELP.map(([command]) => command[0]))).toEqual(new Set(COMMAND_NAMES));
  });

  for (const [command, usageLine] of COMMAND_HELP) {
    for (const spelling of ['--help', '-h']) {
      it(`prints the usage, options and an example of "pcapd ${command.join(' ')} ${spelling}" and exits 0`, async () => {
        const { code, stdout, stderr } = await pcapd([...command, spelling]);
        expect(stderr).toBe('');
        expect(code).toBe(0);
        expect(stdout).toMatch(usageLine);
        expect(stdout).toMatch(/^(?:[a-z]+ )?options\b.*:$|^flags \(/m);
        expect(stdout).toMatch(/^  -h, --help +this text/m);
        expect(stdout).toMatch(/^examples?:\n {2}pcapd /m);
      });
    }
  }

  it('answers "pcapd help COMMAND" with that command\'s own usage', async () => {
    for (const command of ['check-config', 'request', 'spool', 'files', 'version']) {
      const viaHelp = await pcapd(['help', command]);
      const viaFlag = await pcapd([command, '--help']);
      expect(viaHelp.code).toBe(0);
      expect(viaHelp.stdout).toBe(viaFlag.stdout);
    }
  });

  it('lists the flags the daemon takes in "pcapd run --help"', async () => {
    const { stdout } = await pcapd(['run', '--help']);
    for (const flag of Object.keys(OVERRIDE_FLAGS)) expect(stdout).toMatch(new RegExp(`^  -${flag}\\b`, 'm'));
  });
});

describe.concurrent('a mistyped command or flag', () => {
  it.each([
    [['chek-config'], 'unknown command "chek-config"; did you mean check-config?'],
    [['verison'], 'unknown command "verison"; did you mean version?'],
    [['interface'], 'unknown command "interface"; did you mean interfaces?'],
    [['help', 'reqest'], 'unknown command "reqest"; did you mean request?'],
    [['-cshots', 'cs.example.com'], 'flag provided but not defined: -cshots; did you mean -cshost?'],
    [['run', '--maxpakets=5'], 'flag provided but not defined: -maxpakets; did you mean -maxpackets?'],
    [['check-config', '-destdri', '/srv'], 'flag provided but not defined: -destdri; did you mean -destdir?'],
    [['interfaces', '--hlep'], 'interfaces takes no option "--hlep"; did you mean --help?'],
    [['schema', 'request'], 'schema takes no argument "request"'],
    [['spool', 'lsit'], 'unknown spool command "lsit"; did you mean list?'],
    [['spool', 'cull', '--dryrun'], 'unknown option --dryrun for spool cull; did you mean --dry-run?'],
    [['files', 'prnue'], 'unknown files command "prnue"; did you mean prune?'],
    [['files', 'prune', '--dryrun'], 'unknown option --dryrun for files prune; did you mean --dry-run?'],
    [['request', '--pakets', '5'], 'unknown flag --pakets; did you mean --packets?'],
    [['request', '-bfp', 'tcp'], 'unknown flag -bfp; did you mean -bpf?'],
  ])('"pcapd %s" exits non-zero and suggests the nearest spelling on stderr', async (args, message) => {
    const { code, stdout, stderr } = await pcapd(args);
    expect(code).not.toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
  });

  it('is a usage error (exit 2) when a command is unknown', async () => {
    const { code, stderr } = await pcapd(['chek-config']);
    expect(code).toBe(2);
    expect(stderr).toBe('pcapd: unknown command "chek-config"; did you mean check-config? (pcapd --help lists the commands)\n');
  });

  it('suggests nothing when no known spelling is near', async () => {
    const { code, stderr } = await pcapd(['xyzzy']);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command "xyzzy"');
    expect(stderr).not.toContain('did you mean');
    const flag = await pcapd(['-qqqqqq']);
    expect(flag.code).not.toBe(0);
    expect(flag.stderr).toContain('flag provided but not defined: -qqqqqq');
    expect(flag.stderr).not.toContain('did you mean');
  });
});
