/** What {@link cookieHeaderOf} reads: a Node request (`IncomingMessage`), or anything with its `headers`. */
export interface CookieHeaderSource {
  /** Node's header list as received: names at even indexes, values at odd ones. */
  readonly rawHeaders?: readonly string[];
  readonly headers?: { readonly cookie?: string | readonly string[] | undefined };
}

/**
 * The `Cookie` header of a request, as `req.headers.cookie` would give it (repeated fields joined
 * with `'; '`), read from `req.rawHeaders` when the request has that list: Node builds
 * `req.headers` on its first read, which costs a route that never reads any other header about
 * 2,500 instructions, and the scan costs about 50. A request without `rawHeaders` (a plain object
 * in a test) is read through `headers.cookie`.
 *
 * So a middleware that rewrites `req.headers.cookie` does not change which session a request
 * has: the session follows what the browser sent.
 *
 * @example
 * const session = source.sessionFor(req, source.usesCookie ? cookieHeaderOf(req) : undefined, setCookie);
 */
export function cookieHeaderOf(request: CookieHeaderSource): string | undefined {
  const raw = request.rawHeaders;
  if (!Array.isArray(raw)) {
    const cookie = request.headers?.cookie;
    return cookie === undefined || typeof cookie === 'string' ? cookie : cookie.join('; ');
  }
  let found: string | undefined;
  for (let at = 0; at < raw.length - 1; at += 2) {
    const name = raw[at] as string;
    if (name.length !== 6 || (name !== 'cookie' && name !== 'Cookie' && name.toLowerCase() !== 'cookie')) continue;
    const value = raw[at + 1] as string;
    found = found === undefined ? value : `${found}; ${value}`;
  }
  return found;
}
