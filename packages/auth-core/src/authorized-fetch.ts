import { AuthError } from './errors.js';
import { networkFailure } from './http.js';
import type { Protocol } from './protocols/protocol.js';
import type { TokenSet } from './tokens.js';

const MAX_REDIRECTS = 20;

/**
 * Sends a request to the protocol's origin with the token, following redirects by hand so the
 * token only ever goes to that origin, whatever `fetch` implementation is in use. A 307/308
 * that would have to resend a streamed body is returned to the caller instead.
 *
 * @param url An absolute URL on the protocol's origin.
 * @param init The caller's init (headers, body, signal, redirect...), reused as given.
 */
export async function sendAuthorized(
  fetchImpl: typeof globalThis.fetch,
  protocol: Pick<Protocol<unknown>, 'origin' | 'authorize' | 'send'>,
  url: string,
  init: RequestInit,
  tokens: TokenSet | undefined,
  allowed: (origin: string) => boolean = () => true,
): Promise<Response> {
  const follow = (init.redirect ?? 'follow') === 'follow';
  let current = url;
  let method = init.method ?? 'GET';
  let body = init.body;
  let dropContentType = false;
  let left = false;
  for (let hop = 0; ; hop++) {
    const headers = new Headers(init.headers);
    if (dropContentType) headers.delete('content-type');
    // The first hop is on the protocol's origin by contract. Once a hop has left it, no later hop
    // is authorized, even one back on the origin: a foreign server chose where that one goes.
    if (hop > 0 && new URL(current).origin !== protocol.origin) left = true;
    const hopInit: RequestInit = { ...init, method, headers, body: body ?? null, redirect: 'manual' };
    let response: Response;
    if (!left && tokens !== undefined && protocol.send) {
      response = await protocol.send(
        { url: current, init: hopInit, fetch: (input, given) => sendApiCall(fetchImpl, input as string, given) },
        tokens,
      );
    } else {
      if (!left && tokens !== undefined) protocol.authorize(headers, tokens.accessToken);
      response = await sendApiCall(fetchImpl, current, hopInit);
    }
    if (!follow || !isRedirect(response.status)) return response;
    const location = response.headers.get('location');
    if (!location || hop === MAX_REDIRECTS) return response;
    const keepsBody = response.status === 307 || response.status === 308;
    if (keepsBody && body instanceof ReadableStream) return response; // a stream cannot be sent twice
    const next = URL.canParse(location, current) ? new URL(location, current) : undefined;
    // A redirect to an origin the caller did not allow is handed back, not followed.
    if (!next || (next.origin !== protocol.origin && !allowed(next.origin))) return response;
    await response.body?.cancel();
    current = next.href;
    if (!keepsBody && method !== 'GET' && method !== 'HEAD') {
      method = 'GET';
      body = undefined;
      dropContentType = true;
    }
  }
}

/** A `session.fetch` call, ready to send: the absolute URL, and an init for the first try and one for the retry. */
export interface PreparedRequest {
  url: URL;
  first: RequestInit;
  retry: RequestInit;
}

/**
 * Resolves a `session.fetch` input against the base URL. The common case (a string or URL and a
 * plain init) builds no `Request`; a `Request`, or a stream body that can be read once, is
 * copied first so that the one retry has a body to send.
 */
export function prepareRequest(input: string | URL | Request, init: RequestInit | undefined, baseUrl: string): PreparedRequest {
  if (!(input instanceof Request) && !(init?.body instanceof ReadableStream)) {
    const plain = init ?? {};
    return { url: new URL(input, baseUrl), first: plain, retry: plain };
  }
  const request = new Request(input instanceof Request ? input : new URL(input, baseUrl), init);
  // clone() tees the body and gives the original a new stream: copy first, then read the parts.
  const copy = request.body ? request.clone() : request;
  const first = initOf(request);
  return { url: new URL(request.url), first, retry: copy === request ? first : initOf(copy) };
}

/**
 * One `session.fetch` try, bounded by `timeoutMs` until the answer's headers arrive (the caller's
 * signal still aborts the body after that): a time-out rejects with `TIMEOUT`.
 */
export async function withRequestTimeout(
  timeoutMs: number,
  init: RequestInit,
  send: (init: RequestInit) => Promise<Response>,
): Promise<Response> {
  const timer = new AbortController();
  const timeout = setTimeout(
    () => timer.abort(new DOMException(`The operation timed out after ${timeoutMs} ms.`, 'TimeoutError')),
    timeoutMs,
  );
  timeout.unref();
  const signal = init.signal ? AbortSignal.any([init.signal, timer.signal]) : timer.signal;
  try {
    return await send({ ...init, signal });
  } catch (error) {
    if (timer.signal.aborted && !init.signal?.aborted) {
      throw new AuthError('TIMEOUT', `upstream request took longer than ${timeoutMs} ms`, {
        upstream: { operation: 'request', outcomeUnknown: true },
      });
    }
    throw error;
  } finally {
    clearTimeout(timeout);
  }
}

/** Sends with the platform's fetch, turning a network failure into `UPSTREAM_UNAVAILABLE` (a caller's abort stays an abort). */
export async function sendApiCall(fetchImpl: typeof globalThis.fetch, url: URL | string, init: RequestInit | undefined): Promise<Response> {
  try {
    return await fetchImpl(url, init);
  } catch (error) {
    if (init?.signal?.aborted || (error as { name?: unknown })?.name === 'AbortError') throw error;
    throw networkFailure('request', error);
  }
}

/** A `Request`'s parts as a `RequestInit`, for the path that must build one (stream bodies, `Request` inputs). */
export function initOf(request: Request): RequestInit & { duplex?: 'half' } {
  const init: RequestInit & { duplex?: 'half' } = {
    method: request.method,
    headers: request.headers,
    body: request.body,
    signal: request.signal,
    redirect: request.redirect,
  };
  if (request.body) init.duplex = 'half';
  return init;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}
