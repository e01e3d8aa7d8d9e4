/**
 * The grammar of the `general.filename` pattern: strftime directives and
 * {placeholders} between literal text. Config validation checks a pattern
 * with it before pcapd starts; the sinks render names from the same tokens
 * (src/sinks/naming.ts), so what config accepts is what the sinks can render.
 */

const PLACEHOLDERS = ['node', 'alertid', 'id', 'customer', 'iface', 'segment'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const STRFTIME_DIRECTIVES = ['Y', 'm', 'd', 'H', 'M', 'S', 'j', 's', 'F', 'T', '%'] as const;
export type Directive = (typeof STRFTIME_DIRECTIVES)[number];

export type Token =
  { kind: 'text'; text: string } | { kind: 'time'; directive: Directive } | { kind: 'field'; field: Placeholder } | { kind: 'unknown'; text: string };

function isPlaceholder(name: string): name is Placeholder {
  return (PLACEHOLDERS as readonly string[]).includes(name);
}

function isDirective(letter: string): letter is Directive {
  return (STRFTIME_DIRECTIVES as readonly string[]).includes(letter);
}

function tokenOf(match: RegExpExecArray): Token {
  const [text, letter, placeholder] = match;
  if (letter !== undefined) return isDirective(letter) ? { kind: 'time', directive: letter } : { kind: 'unknown', text };
  if (placeholder !== undefined) return isPlaceholder(placeholder) ? { kind: 'field', field: placeholder } : { kind: 'unknown', text };
  // A '%' at the very end of the pattern.
  return { kind: 'unknown', text };
}

export function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  const directive = /%(.)|\{([^{}]*)\}|%$/gsu;
  let last = 0;
  for (let match = directive.exec(pattern); match !== null; match = directive.exec(pattern)) {
    if (match.index > last) tokens.push({ kind: 'text', text: pattern.slice(last, match.index) });
    tokens.push(tokenOf(match));
    last = directive.lastIndex;
  }
  if (last < pattern.length) tokens.push({ kind: 'text', text: pattern.slice(last) });
  return tokens;
}

/**
 * Problems with a `general.filename` pattern, for config validation: unknown
 * %-directives and {placeholders}, path separators, and a missing {id}
 * (without it two captures can get one name, and an S3 upload would replace
 * the other capture's object). Empty when the pattern is usable.
 */
export function validateFileNamePattern(pattern: string): string[] {
  const problems: string[] = [];
  const tokens = tokenize(pattern);
  for (const token of tokens) {
    if (token.kind === 'unknown') problems.push(unknownTokenProblem(token.text));
    if (token.kind === 'text' && /[/\\\0]/u.test(token.text)) {
      problems.push(`"${token.text}" contains a path separator: a file name cannot create a folder (use the request's folder)`);
    }
    if (token.kind === 'text' && /[{}]/u.test(token.text)) problems.push(`"${token.text}" has an unmatched brace`);
  }
  if (!tokens.some((token) => token.kind === 'field' && token.field === 'id')) {
    problems.push('the pattern has no {id}: file names would not be unique');
  }
  return problems;
}

function unknownTokenProblem(text: string): string {
  if (text.startsWith('%')) {
    return `unknown strftime directive "${text}" (known: ${STRFTIME_DIRECTIVES.map((d) => `%${d}`).join(' ')})`;
  }
  return `unknown placeholder "${text}" (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')})`;
}
