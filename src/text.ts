/** Untrusted text quoted in a message stays readable and bounded. */
export function shorten(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
