import {
  authErrorResponse,
  cookieHeaderOf,
  type RedirectLogin,
  type RequestSession,
  redirectLoginStep,
  runRedirectLogin,
  SessionSource,
  type SessionSourceOptions,
  type TokenKeeper,
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

/** Options of {@link tokenKeeper}: a keeper, and a `sessionKey` function (`(ctx) => ctx.state.user?.id`) or the built-in `cookie`. */
export type TokenKeeperMiddlewareOptions = SessionSourceOptions<Context, RegisteredKeeper>;

/**
 * Attaches `ctx.state.upstream`, the request's session with the upstream, and answers an
 * `AuthError` thrown further down with its status and `{ error: code, message }`; every other
 * error (a throwing `sessionKey` function's, when the session is used) is rethrown untouched.
 *
 * @example
 * app.use(tokenKeeper({ keeper, cookie: { secret: process.env.COOKIE_SECRET! } }));
 * router.get('/incidents', async (ctx) => {
 *   ctx.body = await (await ctx.state.upstream.fetch('/incidents')).json();
 * });
 */
export function tokenKeeper(options: TokenKeeperMiddlewareOptions): Middleware {
  const source = new SessionSource<Context, RegisteredCredentials>(options, { adapter: 'tokenKeeper', request: 'context' });
  return async (ctx, next) => {
    ctx.state.upstream = source.sessionFor(ctx, source.usesCookie ? cookieHeaderOf(ctx.req) : undefined, (header) =>
      ctx.append('set-cookie', header),
    );
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

/** Paths of the two routes {@link connectRoutes} serves. */
export interface ConnectRoutesOptions {
  /** Sends the browser to sign in upstream; takes `?returnTo=/path`. Default `'/connect'`. */
  start?: string;
  /** Where the upstream sends the browser back (the redirect URI's path). Default `'/callback'`. */
  callback?: string;
}

/**
 * Serves a redirect login's two GET routes (OAuth's "connect your account", from
 * `oauthConnect()` in `@tokenkeeper/oauth2`), after `tokenKeeper()`: `start` redirects to the
 * upstream's sign-in; `callback` logs `ctx.state.upstream` in and redirects back. An `AuthError`
 * (a wrong `state` is `INVALID_CALLBACK`, 400) is answered by `tokenKeeper()`'s error handling.
 *
 * @example
 * app.use(tokenKeeper({ keeper, cookie: { secret } })).use(connectRoutes(oauthConnect({ protocol, redirectUri, secret })));
 */
export function connectRoutes(login: RedirectLogin<RegisteredCredentials>, options: ConnectRoutesOptions = {}): Middleware {
  const paths = { start: options.start ?? '/connect', finish: options.callback ?? '/callback' };
  return async (ctx, next) => {
    const step = ctx.method === 'GET' ? redirectLoginStep(ctx.path, paths) : undefined;
    if (!step) return next();
    const answer = await runRedirectLogin(login, step, { url: ctx.originalUrl, cookieHeader: cookieHeaderOf(ctx.req) }, ctx.state.upstream);
    for (const cookie of answer.setCookies) ctx.append('set-cookie', cookie);
    ctx.status = 303;
    ctx.redirect(answer.location);
  };
}
