import {
  authErrorResponse,
  RequestSession,
  SessionCookie,
  type SessionCookieOptions,
  sessionKeyOf,
  TokenKeeper,
} from '@tokenkeeper/auth-core';
import type { Context, Middleware } from 'koa';

/**
 * Augment this interface to narrow the credentials type of `ctx.state.upstream` for the whole app:
 *
 * @example
 * import type { RefreshTokenCredentials } from '@tokenkeeper/auth-core';
 * declare module '@tokenkeeper/koa' {
 *   interface Register { credentials: RefreshTokenCredentials }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the app through declaration merging
export interface Register {}

/** The credentials type of `ctx.state.upstream`: what {@link Register} names, else `unknown`. */
export type RegisteredCredentials<R = Register> = R extends { credentials: infer Credentials } ? Credentials : unknown;

/** What `ctx.state.upstream` is. */
export type UpstreamSession = RequestSession<RegisteredCredentials>;

/** The keeper `tokenKeeper()` takes: any keeper, or once {@link Register} names credentials, a keeper of those. */
export type RegisteredKeeper<R = Register> = R extends { credentials: infer Credentials } ? TokenKeeper<Credentials> : TokenKeeper<any>;

/** The state `tokenKeeper()` adds; for apps and routers with their own state type (`new Router<AppState & UpstreamState>()`). */
export interface UpstreamState {
  /** This request's upstream session, attached by `tokenKeeper()`; logged out until `login()`. */
  upstream: UpstreamSession;
}

declare module 'koa' {
  // Declaration merging: Koa's default state gains `upstream`.
  interface DefaultState extends UpstreamState {}
}

/** Options of {@link tokenKeeper}. */
export interface TokenKeeperMiddlewareOptions {
  /** The keeper that holds the sessions. Required. */
  keeper: RegisteredKeeper;
  /**
   * For apps that already know their user: the session key of a request (`(ctx) => ctx.state.user?.id`),
   * possibly async. A non-empty string (at most 1,024 characters) or a safe integer is a key;
   * anything else means "no session". If it throws, the error goes to Koa's error handling.
   * Default: none, the built-in signed cookie (`cookie`) holds a random session id.
   */
  sessionKey?: (ctx: Context) => unknown;
  /** The built-in session cookie; `cookie.secret` is required when there is no `sessionKey`. */
  cookie?: SessionCookieOptions;
}

/**
 * Attaches `ctx.state.upstream`, the request's session with the upstream, and answers an
 * `AuthError` thrown further down with its status and `{ error: code, message }`; every other
 * error is rethrown untouched.
 *
 * @example
 * app.use(tokenKeeper({ keeper, cookie: { secret: process.env.COOKIE_SECRET! } }));
 * router.get('/incidents', async (ctx) => {
 *   ctx.body = await (await ctx.state.upstream.fetch('/incidents')).json();
 * });
 */
export function tokenKeeper(options: TokenKeeperMiddlewareOptions): Middleware {
  const { keeper, sessionKey } = checkOptions(options);
  const cookie = sessionKey ? undefined : new SessionCookie(options.cookie!);
  return async (ctx, next) => {
    const key = sessionKey ? sessionKeyOf(await sessionKey(ctx)) : cookie!.read(ctx.headers.cookie);
    const setCookie = (header: string) => ctx.append('set-cookie', header);
    ctx.state.upstream = new RequestSession(keeper, key, cookie && { cookie, setCookie });
    try {
      await next();
    } catch (error) {
      const answer = authErrorResponse(error);
      if (!answer || ctx.headerSent) throw error;
      ctx.status = answer.status;
      ctx.body = answer.body;
    }
  };
}

function checkOptions(options: TokenKeeperMiddlewareOptions) {
  if (typeof options !== 'object' || options === null) throw new TypeError('tokenKeeper: options must be an object');
  if (!(options.keeper instanceof TokenKeeper)) throw new TypeError('tokenKeeper: keeper must be a TokenKeeper');
  if (options.sessionKey !== undefined && typeof options.sessionKey !== 'function') {
    throw new TypeError('tokenKeeper: sessionKey must be a function of the context');
  }
  if (options.sessionKey !== undefined && options.cookie !== undefined) {
    throw new TypeError('tokenKeeper: give either sessionKey or cookie, not both');
  }
  if (options.sessionKey === undefined && options.cookie?.secret === undefined) {
    throw new TypeError('tokenKeeper: cookie.secret is required when there is no sessionKey function');
  }
  return { keeper: options.keeper, sessionKey: options.sessionKey };
}
