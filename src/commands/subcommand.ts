/**
 * What the commands with sub-commands (`pcapd spool …`, `pcapd files …`)
 * share: their output streams, their usage errors, and the step from argv to
 * arguments that prints the usage asked for or the mistake made.
 */

export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
}

/** A malformed command line: printed with the usage, exit status 2. */
export class UsageError extends Error {}

/** Go's flag package exits 2 on a usage error; so do pcapd's commands. */
const EXIT_USAGE = 2;

/**
 * The parsed arguments, or the exit status once the usage (asked for with
 * --help: 0) or a usage error (2) is printed.
 */
export function argsOrExit<A extends object>(
  parse: (argv: readonly string[]) => A | { usage: string },
  argv: readonly string[],
  usage: string,
  io: CommandIo,
): A | number {
  let parsed: A | { usage: string };
  try {
    parsed = parse(argv);
  } catch (err: unknown) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`pcapd: ${err.message}\n${usage}\n`);
    return EXIT_USAGE;
  }
  if ('usage' in parsed) {
    io.out(`${parsed.usage}\n`);
    return 0;
  }
  return parsed;
}
