import { networkFailure } from './http.js';
import type { Protocol } from './protocols/protocol.js';
import type { BoundedSend } from './request-bound.js';
import type { TokenSet } from './tokens.js';

const MAX_REDIRECTS = 20;

/** The init of a call that gave none: read, never written. */
export const NO_INIT: RequestInit = Object.freeze({});

/**
 * Sends a request to the protocol's origin with the token, following redirects by hand so the
 * token only ever goes to that origin, whatever `fetch` implementation is in use. A 307/308
 * that would have to resend a streamed body is returned to the caller instead.
 *
 * @param url An absolute URL on the protocol's origin.
 * @param init The caller's init (headers, body, signal, redirect...), reused as given.
 * @param authorization The headers `protocol.authorize` writes for `tokens` (see {@link AuthorizationHeaders}).
 * @param bound What bounds this try (see {@link RequestBound}): the signal and dispatcher to send with, in place of `init.signal` and `init.dispatcher`; ended here.
 * @param firstAnswer The first hop's answer, when the caller sent that hop itself (see {@link sendFirstPlainHop}): a redirect to follow from there.
 */
export async function sendAuthorized(
  fetchImpl: typeof globalThis.fetch,
  protocol: Pick<Protocol<unknown>, 'origin' | 'authorize' | 'send'>,
  url: string,
  init: RequestInit,
  tokens: TokenSet | undefined,
  authorization: Readonly<Record<string, string>> | undefined,
  bound: BoundedSend,
  allowed: (origin: string) => boolean = () => true,
  firstAnswer?: Response,
): Promise<Response> {
  const { signal, dispatcher } = bound;
  // The bound ends here, with the try, and not in a frame of its own around this one.
  let threw = false;
  try {
    const follow = (init.redirect ?? 'follow') === 'follow';
    let current = url;
    let method = init.method ?? 'GET';
    let body = init.body;
    let dropContentType = false;
    let left = false;
    for (let hop = 0; ; hop++) {
      // The first hop is on the protocol's origin by contract. Once a hop has left it, no later hop
      // is authorized, even one back on the origin: a foreign server chose where that one goes.
      if (hop > 0 && new URL(current).origin !== protocol.origin) left = true;
      const authorized = !left && tokens !== undefined;
      let response: Response;
      if (hop === 0 && firstAnswer !== undefined) {
        response = firstAnswer;
      } else if (authorized && protocol.send) {
        const headers = new Headers(init.headers);
        if (dropContentType) headers.delete('content-type');
        const hopInit: RequestInit = { ...init, method, headers, body: body ?? null, redirect: 'manual', signal };
        response = await protocol.send(
          { url: current, init: hopInit, fetch: (input, given) => sendApiCall(fetchImpl, input as string, given) },
          tokens!,
        );
      } else {
        const headers = headersOf(init.headers, authorized ? authorization : undefined, dropContentType);
        // sendApiCall's work inline: one async frame less on every request.
        try {
          const hopInit = (
            init === NO_INIT
              ? plainHopInit(headers, bound)
              : { ...init, method, headers, body: body ?? null, redirect: 'manual', signal, dispatcher }
          ) as RequestInit;
          response = await fetchImpl(current, hopInit);
        } catch (error) {
          throw apiCallFailure(error, signal);
        }
      }
      // Not a redirect to follow (the common case): the answer as it came.
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
  } catch (error) {
    threw = true;
    throw bound.failure(error);
  } finally {
    bound.end(!threw);
  }
}

/**
 * The first hop of a call that gave no init, on the protocol's origin, for a protocol that does
 * not send requests itself: what {@link sendAuthorized} would send first, sent by the caller
 * in its own frame (`TokenKeeper.fetch`'s common case, one async frame instead of two). The
 * caller ends `bound` on an answer that is not a redirect, and otherwise passes the answer to
 * `sendAuthorized` as its `firstAnswer`; on a rejection it ends the bound and rejects with
 * {@link failedPlainHop}.
 */
export function sendFirstPlainHop(
  fetchImpl: typeof globalThis.fetch,
  url: string,
  authorization: Readonly<Record<string, string>>,
  bound: BoundedSend,
): Promise<Response> {
  return fetchImpl(url, plainHopInit({ ...authorization }, bound));
}

/** What a rejected {@link sendFirstPlainHop} rejects `TokenKeeper.fetch` with, as {@link sendAuthorized} would; ends the bound. */
export function failedPlainHop(error: unknown, bound: BoundedSend): unknown {
  const failure = bound.failure(apiCallFailure(error, bound.signal));
  bound.end(false);
  return failure;
}

/** Whether an answer is a redirect `sendAuthorized` would follow, for a call that gave no init. */
export function isPlainRedirect(response: Response): boolean {
  return isRedirect(response.status);
}

// A call that gave no init (the common case) stays a GET without a body on every hop, so it passes
// only what differs from fetch's defaults: each member costs Node's `Request` a conversion (about
// 4,000 instructions a request for the copy, `method` and `body`).
function plainHopInit(headers: NonNullable<RequestInit['headers']>, bound: BoundedSend): RequestInit {
  return { headers, redirect: 'manual', signal: bound.signal, dispatcher: bound.dispatcher } as RequestInit;
}

/**
 * One hop's headers: the caller's, less `content-type` after a redirect turned the request into a
 * GET, with the token's headers set over them. Without caller headers (the common case) a plain
 * copy of the token's headers, as a hand-written call would pass, instead of a `Headers`.
 */
function headersOf(
  given: RequestInit['headers'],
  authorization: Readonly<Record<string, string>> | undefined,
  dropContentType: boolean,
): NonNullable<RequestInit['headers']> {
  if (given === undefined) return { ...authorization };
  const headers = new Headers(given);
  if (dropContentType) headers.delete('content-type');
  if (authorization) for (const name of Object.keys(authorization)) headers.set(name, authorization[name]!);
  return headers;
}

/**
 * The headers a protocol's `authorize` writes for a token, built once per token set instead of
 * once per request (`authorize` is a function of the token alone). Kept with the token set
 * itself (a `WeakMap`), so they go when the session's record goes, and a renewed token set gets
 * its own; a store that hands out a new record object on every read only misses the cache.
 */
export class AuthorizationHeaders {
  readonly #authorize: (headers: Headers, accessToken: string) => void;
  readonly #built = new WeakMap<TokenSet, { accessToken: string; headers: Readonly<Record<string, string>> }>();

  constructor(protocol: Pick<Protocol<unknown>, 'authorize'>) {
    this.#authorize = protocol.authorize.bind(protocol);
  }

  of(tokens: TokenSet): Readonly<Record<string, string>> {
    const built = this.#built.get(tokens);
    if (built !== undefined && built.accessToken === tokens.accessToken) return built.headers;
    const headers = this.for(tokens.accessToken);
    this.#built.set(tokens, { accessToken: tokens.accessToken, headers });
    return headers;
  }

  /** The headers for one token, built now. */
  for(accessToken: string): Readonly<Record<string, string>> {
    const written = new Headers();
    this.#authorize(written, accessToken);
    return Object.freeze(Object.fromEntries(written));
  }
}

/** A `session.fetch` call, ready to send: the absolute URL and its origin, and an init for the first try and one for the retry. */
export interface PreparedRequest {
  href: string;
  origin: string;
  first: RequestInit;
  retry: RequestInit;
}

/** How many distinct string inputs {@link UrlResolver} keeps before it starts again. */
const MAX_RESOLVED_URLS = 512;

/**
 * Resolves `session.fetch` inputs against the base URL, remembering the answers for string
 * inputs: an app calls the same few paths again and again, and parsing one costs more than the
 * rest of the token's work. Bounded: past {@link MAX_RESOLVED_URLS} inputs it starts again.
 */
export class UrlResolver {
  readonly #baseUrl: string;
  readonly #resolved = new Map<string, { href: string; origin: string }>();

  constructor(baseUrl: string) {
    this.#baseUrl = baseUrl;
  }

  resolve(input: string | URL): { href: string; origin: string } {
    if (input instanceof URL) return { href: input.href, origin: input.origin }; // absolute already
    let found = this.#resolved.get(input);
    if (found === undefined) {
      const url = new URL(input, this.#baseUrl);
      found = { href: url.href, origin: url.origin };
      if (this.#resolved.size >= MAX_RESOLVED_URLS) this.#resolved.clear();
      this.#resolved.set(input, found);
    }
    return found;
  }
}

/**
 * Resolves a `session.fetch` input against the base URL. The common case (a string or URL and a
 * plain init) builds no `Request`; a `Request`, or a stream body that can be read once, is
 * copied first so that the one retry has a body to send.
 */
export function prepareRequest(input: string | URL | Request, init: RequestInit | undefined, urls: UrlResolver): PreparedRequest {
  // `typeof` first: `Request` and `ReadableStream` are getters on the global object, dear to read on every call.
  if ((typeof input === 'string' || !(input instanceof Request)) && (init?.body == null || !(init.body instanceof ReadableStream))) {
    const plain = init ?? NO_INIT;
    const { href, origin } = urls.resolve(input);
    return { href, origin, first: plain, retry: plain };
  }
  const request = new Request(input instanceof Request ? input : urls.resolve(input).href, init);
  // clone() tees the body and gives the original a new stream: copy first, then read the parts.
  const copy = request.body ? request.clone() : request;
  const first = initOf(request);
  const { href, origin } = new URL(request.url);
  return { href, origin, first, retry: copy === request ? first : initOf(copy) };
}

/** Sends with the platform's fetch, turning a network failure into `UPSTREAM_UNAVAILABLE` (a caller's abort stays an abort). */
export async function sendApiCall(fetchImpl: typeof globalThis.fetch, url: URL | string, init: RequestInit | undefined): Promise<Response> {
  try {
    return await fetchImpl(url, init);
  } catch (error) {
    throw apiCallFailure(error, init?.signal);
  }
}

/** What a failed API call rejects with: a caller's abort stays an abort, a network failure is `UPSTREAM_UNAVAILABLE`. */
function apiCallFailure(error: unknown, signal: AbortSignal | null | undefined): unknown {
  if (signal?.aborted || (error as { name?: unknown })?.name === 'AbortError') return error;
  return networkFailure('request', error);
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
