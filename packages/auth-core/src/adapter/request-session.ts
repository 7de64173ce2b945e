import { AuthError, stateError } from '../errors.js';
import type { CallOptions, LoginOptions, SessionState, TokenKeeper } from '../keeper.js';
import { sessionKeyOf } from '../session-key.js';
import type { SessionCookie } from './session-cookie.js';

export { sessionKeyOf };

/**
 * The session a server adapter attaches to each request (`req.upstream`, `ctx.state.upstream`).
 * With a built-in cookie, `login` issues a new session id every time (no session fixation) and
 * `logout` clears the cookie; the adapter only has to send the `Set-Cookie` headers it is given.
 */
export class RequestSession<Credentials = unknown> {
  readonly keeper: TokenKeeper<Credentials>;
  #key: string | undefined;
  /** A key an app's async `sessionKey` function is still resolving; every method waits for it. */
  #pendingKey: Promise<string | undefined> | undefined;
  readonly #cookie: SessionCookie | undefined;
  readonly #setCookie: ((header: string) => void) | undefined;

  /**
   * @param key The session key, or a promise of one (an async `sessionKey` function's answer:
   * it is passed through {@link sessionKeyOf}, and a rejection surfaces from each method that
   * needs the key instead of going unhandled).
   */
  constructor(
    keeper: TokenKeeper<Credentials>,
    key: string | undefined | PromiseLike<unknown>,
    cookie?: { cookie: SessionCookie; setCookie(header: string): void },
  ) {
    this.keeper = keeper;
    if (isPromiseLike(key)) {
      this.#pendingKey = Promise.resolve(key).then((resolved) => {
        this.#key = sessionKeyOf(resolved);
        this.#pendingKey = undefined;
        return this.#key;
      });
      this.#pendingKey.catch(() => {}); // reported to whoever uses the session, not as unhandled
    } else {
      this.#key = key;
    }
    this.#cookie = cookie?.cookie;
    this.#setCookie = cookie?.setCookie;
  }

  /** The session key of this request, if it has one (undefined while an async key is resolving). */
  get key(): string | undefined {
    return this.#key;
  }

  /** Logs in; with the built-in cookie, under a fresh session id (the previous session is logged out). */
  async login(credentials: Credentials, options?: LoginOptions): Promise<SessionState> {
    if (this.#pendingKey) await this.#pendingKey;
    if (!this.#cookie) return this.keeper.login(this.#requireKey(), credentials, options);
    const previous = this.#key;
    const { id, header } = this.#cookie.issue();
    const state = await this.keeper.login(id, credentials, options);
    this.#key = id;
    this.#setCookie!(header);
    if (previous) await this.keeper.logout(previous).catch(() => {});
    return state;
  }

  token(options?: CallOptions): Promise<string> {
    // A known key (the common case) calls straight through, without #withKey's closure.
    if (this.#key !== undefined && !this.#pendingKey) return this.keeper.token(this.#key, options);
    return this.#withKey((key) => this.keeper.token(key, options));
  }

  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    if (this.#key !== undefined && !this.#pendingKey) return this.keeper.fetch(this.#key, input, init);
    return this.#withKey((key) => this.keeper.fetch(key, input, init));
  }

  /** Binds this request's session to another account of the user (see `TokenKeeper.switchAccount`). */
  switchAccount(accountId: number, options?: CallOptions): Promise<SessionState> {
    return this.#withKey((key) => this.keeper.switchAccount(key, accountId, options));
  }

  async logout(options?: CallOptions): Promise<void> {
    if (this.#pendingKey) await this.#pendingKey;
    const key = this.#key;
    if (this.#cookie) {
      this.#key = undefined;
      this.#setCookie!(this.#cookie.clear());
    }
    if (key) await this.keeper.logout(key, options);
  }

  async state(): Promise<SessionState> {
    if (this.#pendingKey) await this.#pendingKey;
    return this.#key ? this.keeper.state(this.#key) : { status: 'none' };
  }

  #requireKey(): string {
    if (this.#key === undefined) throw stateError('NOT_LOGGED_IN');
    return this.#key;
  }

  #withKey<T>(call: (key: string) => Promise<T>): Promise<T> {
    if (this.#pendingKey) return this.#pendingKey.then(() => call(this.#requireKey()));
    try {
      return call(this.#requireKey());
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/** The HTTP answer for an error: `{ status, body: { error: code, message } }` for an AuthError, else `undefined`. */
export function authErrorResponse(error: unknown): { status: number; body: { error: string; message: string } } | undefined {
  if (!(error instanceof AuthError)) return undefined;
  return { status: error.status, body: { error: error.code, message: error.message } };
}
