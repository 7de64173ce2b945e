import { networkFailure } from './http.js';
import type { Protocol } from './protocols/protocol.js';
import type { BoundedSend, RequestBound } from './request-bound.js';
import type { TokenSet } from './tokens.js';

const MAX_REDIRECTS = 20;

/** The init of a call that gave none: read, never written. */
export const NO_INIT: RequestInit = Object.freeze({});

/**
 * Sends a keeper's tries: to the protocol's origin with the token, following redirects by hand so
 * the token only ever goes to that origin, whatever `fetch` implementation is in use. A 307/308
 * that would have to resend a streamed body is returned to the caller instead.
 *
 * A try is six steps, and {@link send} is their composition: {@link headers} builds its first
 * hop's headers, {@link start} starts its bound, {@link first} sends that hop (with `fetch` itself, and nothing in between); {@link failed} is what the try rejects with when
 * that hop rejects; {@link ends} tells, synchronously, whether its answer is the try's (it is,
 * unless it is a redirect to follow); {@link follow} follows one. `TokenKeeper.fetch` runs the steps in its own async
 * frame, so the common call awaits `fetch`'s promise and nothing else: one async frame for the
 * whole call, about 1,600 instructions less than a frame of the sender's own around the hop.
 * Everything else (a protocol that sends requests itself, the retry, a foreign origin) goes
 * through {@link send}.
 *
 * Every step is given the try's `bound` (see {@link RequestBound}): the signal and dispatcher to
 * send with, in place of `init.signal` and `init.dispatcher`, and ended by the step that ends the try.
 */
export class AuthorizedSender {
  readonly #fetch: typeof globalThis.fetch;
  readonly #protocol: Pick<Protocol<unknown>, 'origin' | 'send'>;
  readonly #bound: RequestBound;
  readonly #allowed: (origin: string) => boolean;

  constructor(
    fetchImpl: typeof globalThis.fetch,
    protocol: Pick<Protocol<unknown>, 'origin' | 'send'>,
    bound: RequestBound,
    allowed: (origin: string) => boolean,
  ) {
    this.#fetch = fetchImpl;
    this.#protocol = protocol;
    this.#bound = bound;
    this.#allowed = allowed;
  }

  /**
   * A whole try of `url` (absolute; the protocol's origin when `tokens` is given) with the
   * caller's `init`, reused as given; `authorization` is what `protocol.authorize` writes for
   * `tokens` (see {@link AuthorizationHeaders}), unused when the protocol sends requests itself.
   */
  async send(
    url: string,
    init: RequestInit,
    tokens: TokenSet | undefined,
    authorization: Readonly<Record<string, string>> | undefined,
  ): Promise<Response> {
    const protocolSends = tokens !== undefined && this.#protocol.send !== undefined;
    const headers = protocolSends ? undefined : this.headers(init, tokens === undefined ? undefined : authorization);
    const bound = this.start(init);
    let response: Response;
    try {
      response = protocolSends
        ? await this.#protocolHop(url, init, init.method ?? 'GET', init.body, false, tokens!, bound)
        : await this.first(url, init, headers!, bound);
    } catch (error) {
      if (!protocolSends) throw this.failed(error, bound);
      const failure = bound.failure(error); // the protocol's own failures as they are: its fetch maps network ones
      bound.end(false);
      throw failure;
    }
    return this.ends(response, init, bound) ? response : this.follow(response, url, init, tokens, authorization, bound);
  }

  /** Starts a try's bound (see {@link RequestBound}), after its {@link headers} and before its {@link first} hop. */
  start(init: RequestInit): BoundedSend {
    return this.#bound.start(init);
  }

  /**
   * The headers of a try's first hop: the caller's with `authorization`'s over them (none for a
   * request off the origin), for a protocol that does not send requests itself. Malformed caller
   * headers throw their `TypeError` here, before the try starts.
   */
  headers(init: RequestInit, authorization: Readonly<Record<string, string>> | undefined): NonNullable<RequestInit['headers']> {
    return init === NO_INIT ? { ...authorization } : headersOf(init.headers, authorization, false);
  }

  /** A try's first hop, sent with `fetch` and nothing around it; a rejection goes to {@link failed}, an answer to {@link ends}. */
  first(url: string, init: RequestInit, headers: NonNullable<RequestInit['headers']>, bound: BoundedSend): Promise<Response> {
    return this.#fetch(url, hopInit(init, headers, bound));
  }

  /** What a try whose hop `fetch` rejected rejects with (a caller's abort stays an abort, `TIMEOUT` when the bound ran out, else `UPSTREAM_UNAVAILABLE`); ends `bound`. */
  failed(error: unknown, bound: BoundedSend): unknown {
    const failure = bound.failure(apiCallFailure(error, bound.signal));
    bound.end(false);
    return failure;
  }

  /**
   * Whether `response`, the answer to a try's first hop, ends the try (the common case: it is
   * not a redirect to follow), and then ends `bound`; else the caller hands it to {@link follow}.
   */
  ends(response: Response, init: RequestInit, bound: BoundedSend): boolean {
    if (isRedirect(response.status) && (init.redirect ?? 'follow') === 'follow') return false;
    bound.end(true);
    return true;
  }

  /** The rest of a try whose first hop answered with a redirect to follow: each hop after it, up to {@link MAX_REDIRECTS}; ends `bound`. */
  async follow(
    response: Response,
    url: string,
    init: RequestInit,
    tokens: TokenSet | undefined,
    authorization: Readonly<Record<string, string>> | undefined,
    bound: BoundedSend,
  ): Promise<Response> {
    const origin = this.#protocol.origin;
    let current = url;
    let method = init.method ?? 'GET';
    let body = init.body;
    let dropContentType = false;
    let left = false;
    let threw = false;
    try {
      for (let hop = 1; ; hop++) {
        const location = response.headers.get('location');
        if (!location || hop > MAX_REDIRECTS) return response;
        const keepsBody = response.status === 307 || response.status === 308;
        if (keepsBody && body instanceof ReadableStream) return response; // a stream cannot be sent twice
        const next = URL.canParse(location, current) ? new URL(location, current) : undefined;
        // A redirect to an origin the caller did not allow is handed back, not followed.
        if (!next || (next.origin !== origin && !this.#allowed(next.origin))) return response;
        await response.body?.cancel();
        current = next.href;
        if (!keepsBody && method !== 'GET' && method !== 'HEAD') {
          method = 'GET';
          body = undefined;
          dropContentType = true;
        }
        // Once a hop has left the origin, no later hop is authorized, even one back on the
        // origin: a foreign server chose where that one goes.
        if (next.origin !== origin) left = true;
        const authorized = !left && tokens !== undefined;
        if (authorized && this.#protocol.send) {
          response = await this.#protocolHop(current, init, method, body, dropContentType, tokens!, bound);
        } else {
          const headers = headersOf(init.headers, authorized ? authorization : undefined, dropContentType);
          try {
            response = await this.#fetch(current, hopInit(init, headers, bound, method, body));
          } catch (error) {
            throw apiCallFailure(error, bound.signal);
          }
        }
        if (!isRedirect(response.status)) return response;
      }
    } catch (error) {
      threw = true;
      throw bound.failure(error);
    } finally {
      bound.end(!threw);
    }
  }

  /** One hop sent by the protocol itself (DPoP proofs, say), which gets a `fetch` that maps network failures as {@link failed} does. */
  #protocolHop(
    url: string,
    init: RequestInit,
    method: string,
    body: RequestInit['body'],
    dropContentType: boolean,
    tokens: TokenSet,
    bound: BoundedSend,
  ): Promise<Response> {
    const headers = new Headers(init.headers);
    if (dropContentType) headers.delete('content-type');
    const hopInit: RequestInit = { ...init, method, headers, body: body ?? null, redirect: 'manual', signal: bound.signal };
    return this.#protocol.send!({ url, init: hopInit, fetch: (input, given) => sendApiCall(this.#fetch, input as string, given) }, tokens);
  }
}

/**
 * One hop's init: the caller's, with `headers`, the bound's `signal` and `dispatcher`, redirects
 * left to the sender, and (after a redirect) the `method` and `body` the hop is sent with. Only
 * what differs from the caller's init is set: each member costs Node's `Request` a conversion
 * (about 4,000 instructions a request for a copy of an init, a `method` and a `body`), so a call
 * that gave no init (the common case) gets no copy, and a first hop no `method` or `body`.
 */
function hopInit(
  init: RequestInit,
  headers: NonNullable<RequestInit['headers']>,
  bound: BoundedSend,
  method?: string,
  body?: RequestInit['body'],
): RequestInit {
  if (init === NO_INIT) return { headers, redirect: 'manual', signal: bound.signal, dispatcher: bound.dispatcher } as RequestInit;
  const hop = { ...init, headers, redirect: 'manual', signal: bound.signal, dispatcher: bound.dispatcher } as RequestInit;
  if (method !== undefined) {
    hop.method = method;
    hop.body = body ?? null;
  }
  return hop;
}

/**
 * One hop's headers: the caller's, less `content-type` after a redirect turned the request into a
 * GET, with the token's headers set over them (whatever the case of the caller's names). A plain
 * object as a hand-written call would pass, unless the caller gave a `Headers` or a list: a
 * `Headers` costs some 30,000 instructions to build and fill, and `fetch` copies it again.
 * The token's names are lower case (`Headers` wrote them).
 */
function headersOf(
  given: RequestInit['headers'],
  authorization: Readonly<Record<string, string>> | undefined,
  dropContentType: boolean,
): NonNullable<RequestInit['headers']> {
  if (given === undefined) return { ...authorization };
  if (isPlainRecord(given)) {
    const headers: Record<string, string> = {};
    for (const name of Object.keys(given)) {
      const lower = name.toLowerCase();
      if ((dropContentType && lower === 'content-type') || (authorization !== undefined && Object.hasOwn(authorization, lower))) continue;
      headers[name] = given[name]!;
    }
    return authorization === undefined ? headers : Object.assign(headers, authorization);
  }
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

function isPlainRecord(value: unknown): value is Record<string, string> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}
