/** Untrusted text quoted in a message stays readable and bounded. */
export function shorten(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Untrusted text in a message: quoted, escaped and short. */
export function quoted(text: string, max = 64): string {
  return JSON.stringify(shorten(text, max));
}

/** A string field that carries a value: pcapdaemon's Go clients send "" for "not set". */
export function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}
