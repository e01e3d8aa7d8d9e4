/**
 * S3 endpoints compared by meaning, not spelling: config validation, the
 * request override policy and the S3 sink all normalize through here.
 */

/**
 * An endpoint as "scheme://host[:port][/path]", lower-case host, default
 * port and trailing "/" dropped, so "S3.example.com", "https://s3.example.com:443/"
 * and "https://s3.example.com" compare equal. A bare host means https.
 * Undefined when it is no http(s) URL or carries credentials, a query or a fragment.
 */
export function normalizeEndpoint(text: string): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || url.hostname === '') return undefined;
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}`;
}
