import { TokenKeeper } from '../keeper.js';
import { RequestSession, sessionKeyOf } from './request-session.js';
import { SessionCookie, type SessionCookieOptions } from './session-cookie.js';

/** How a server adapter finds each request's session: an app's `sessionKey` function, or the built-in cookie. */
export interface SessionSourceOptions<Request, Keeper extends TokenKeeper<any> = TokenKeeper<any>> {
  /** The keeper that holds the sessions. Required. */
  keeper: Keeper;
  /**
   * For apps that already know their user: the session key of a request, possibly async. A
   * non-empty string (at most 1,024 characters) or a safe integer is a key; anything else means
   * "no session". If it throws or rejects, the error surfaces where the session is first used.
   * Default: none, the built-in signed cookie (`cookie`) holds a random session id.
   */
  sessionKey?: (request: Request) => unknown;
  /** The built-in session cookie; `cookie.secret` is required when there is no `sessionKey`. */
  cookie?: SessionCookieOptions;
}

/**
 * The one piece of per-request logic server adapters share: options validated once (TypeErrors
 * that name the option), then a {@link RequestSession} per request. An adapter passes the
 * request, its `Cookie` header and a way to append a `Set-Cookie` header; that is all.
 *
 * @example
 * const source = new SessionSource(options, { adapter: 'tokenKeeper', request: 'request' });
 * const cookie = source.usesCookie ? cookieHeaderOf(req) : undefined;
 * req.upstream = source.sessionFor(req, cookie, (header) => res.append('set-cookie', header));
 */
export class SessionSource<Request, Credentials = unknown> {
  readonly keeper: TokenKeeper<Credentials>;
  /**
   * Whether sessions come from the built-in cookie. An adapter reads the `Cookie` header only
   * then: Node builds `req.headers` on first use, which costs a route that never reads it.
   */
  readonly usesCookie: boolean;
  readonly #sessionKey: ((request: Request) => unknown) | undefined;
  readonly #cookie: SessionCookie | undefined;

  constructor(options: SessionSourceOptions<Request>, names: { adapter: string; request: string }) {
    const fail = (message: string) => new TypeError(`${names.adapter}: ${message}`);
    if (typeof options !== 'object' || options === null) throw fail('options must be an object');
    if (!(options.keeper instanceof TokenKeeper)) throw fail('keeper must be a TokenKeeper');
    if (options.sessionKey !== undefined && typeof options.sessionKey !== 'function') {
      throw fail(`sessionKey must be a function of the ${names.request}`);
    }
    if (options.sessionKey !== undefined && options.cookie !== undefined) throw fail('give either sessionKey or cookie, not both');
    if (options.sessionKey === undefined && options.cookie?.secret === undefined) {
      throw fail('cookie.secret is required when there is no sessionKey function');
    }
    this.keeper = options.keeper;
    this.#sessionKey = options.sessionKey;
    this.#cookie = options.sessionKey ? undefined : new SessionCookie(options.cookie!);
    this.usesCookie = this.#cookie !== undefined;
  }

  /** The session of one request. Does no I/O; an async key is awaited by the session itself. */
  sessionFor(
    request: Request,
    cookieHeader: string | readonly string[] | undefined,
    setCookie: (header: string) => void,
  ): RequestSession<Credentials> {
    if (!this.#cookie) return new RequestSession(this.keeper, this.#keyOf(request));
    return new RequestSession(this.keeper, this.#cookie.read(cookieHeader), { cookie: this.#cookie, setCookie });
  }

  #keyOf(request: Request): string | undefined | PromiseLike<unknown> {
    let key: unknown;
    try {
      key = this.#sessionKey!(request);
    } catch (error) {
      return Promise.reject(error); // like a rejection: surfaces where the session is used
    }
    return typeof (key as { then?: unknown } | null | undefined)?.then === 'function' ? (key as PromiseLike<unknown>) : sessionKeyOf(key);
  }
}
