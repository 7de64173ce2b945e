import { IncomingMessage } from 'node:http';
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
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';

/**
 * Augment this interface to narrow the credentials type of `req.upstream` for the whole app:
 *
 * @example
 * import type { RefreshTokenCredentials } from '@tokenkeeper/auth-core';
 * declare module '@tokenkeeper/express' {
 *   interface Register { credentials: RefreshTokenCredentials }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the app through declaration merging
export interface Register {}

/** The credentials type of `req.upstream`: what {@link Register} names, else `unknown`. */
export type RegisteredCredentials<R = Register> = R extends { credentials: infer Credentials } ? Credentials : unknown;

/** What `req.upstream` is. */
export type UpstreamSession = RequestSession<RegisteredCredentials>;

/** The keeper `tokenKeeper()` takes: any keeper, or once {@link Register} names credentials, a keeper of those. */
export type RegisteredKeeper<R = Register> = R extends { credentials: infer Credentials } ? TokenKeeper<Credentials> : TokenKeeper<any>;

declare global {
  namespace Express {
    interface Request {
      /** This request's upstream session, attached by `tokenKeeper()`; logged out until `login()`. */
      upstream: UpstreamSession;
    }
  }
}

/** Options of {@link tokenKeeper}: a keeper, and a `sessionKey` function (`(req) => req.user?.id`) or the built-in `cookie`. */
export type TokenKeeperMiddlewareOptions = SessionSourceOptions<Request, RegisteredKeeper>;

/**
 * Attaches `req.upstream`, the request's session with the upstream. A `sessionKey` function
 * that throws or rejects sends its error to Express's error handling when the session is used.
 *
 * @example
 * app.use(express.json(), tokenKeeper({ keeper, cookie: { secret: process.env.COOKIE_SECRET! } }));
 * app.post('/login', async (req, res) => res.json(await req.upstream.login(req.body)));
 * app.get('/incidents', async (req, res) => res.json(await (await req.upstream.fetch('/incidents')).json()));
 * app.use(tokenKeeperErrors());
 */
export function tokenKeeper(options: TokenKeeperMiddlewareOptions): RequestHandler {
  const source = new SessionSource<Request, RegisteredCredentials>(options, { adapter: 'tokenKeeper', request: 'request' });
  // The request prototype last seen, and whether this package's `upstream` accessor is on its chain.
  let seen: object | null = null;
  let viaAccessor = false;
  return (req, res, next) => {
    const session = source.sessionFor(
      req,
      source.usesCookie ? cookieHeaderOf(req) : undefined,
      (header) => void res.append('set-cookie', header),
    );
    const prototype = Object.getPrototypeOf(req) as object | null;
    if (prototype !== seen) {
      seen = prototype;
      viaAccessor = installAccessor(prototype);
    }
    if (viaAccessor) sessions.set(req, session);
    else req.upstream = session;
    next();
  };
}

/**
 * Each request's session, kept off the request object. Express gives each request its app's
 * prototype (`Object.setPrototypeOf`), and V8 keeps no shared shape for an object whose
 * prototype was changed: every property added to it afterwards copies its whole shape (about
 * 10,000 instructions a request for `req.upstream`, measured with bench scenario 8). So
 * `req.upstream` is an accessor on Express's request prototype that reads this map.
 */
const sessions = new WeakMap<object, UpstreamSession>();
const upstreamAccessor: PropertyDescriptor = {
  get(this: object) {
    return sessions.get(this);
  },
  set(this: object, session: UpstreamSession) {
    sessions.set(this, session); // an app's or a test's own `req.upstream = …`
  },
  configurable: true,
  enumerable: false,
};

/**
 * Puts {@link upstreamAccessor} on Express's own request prototype (the one every app's request
 * prototype derives from, whose prototype is Node's `IncomingMessage.prototype`), unless it is
 * there. Whether requests with this prototype reach it: `false` (so the session is assigned as a
 * property) for a request that is not an Express one, or whose chain already has another `upstream`.
 */
function installAccessor(prototype: object | null): boolean {
  let root: object | undefined;
  for (let level = prototype; level !== null && level !== IncomingMessage.prototype; level = Object.getPrototypeOf(level)) {
    const own = Object.getOwnPropertyDescriptor(level, 'upstream');
    if (own) return own.get === upstreamAccessor.get;
    if (Object.getPrototypeOf(level) === IncomingMessage.prototype) root = level;
  }
  if (!root) return false;
  Object.defineProperty(root, 'upstream', upstreamAccessor);
  return true;
}

/**
 * Error middleware: answers an `AuthError` with its status and `{ error: code, message }`, and
 * passes every other error on. Register it after your routes.
 */
export function tokenKeeperErrors(): ErrorRequestHandler {
  return (error, _req, res, next) => {
    const answer = authErrorResponse(error);
    if (!answer || res.headersSent) return next(error);
    res.status(answer.status).json(answer.body);
  };
}

/** Paths of the two routes {@link connectRoutes} mounts. */
export interface ConnectRoutesOptions {
  /** Sends the browser to sign in upstream; takes `?returnTo=/path`. Default `'/connect'`. */
  start?: string;
  /** Where the upstream sends the browser back (the redirect URI's path). Default `'/callback'`. */
  callback?: string;
}

/**
 * Mounts a redirect login's two GET routes (OAuth's "connect your account", from
 * `oauthConnect()` in `@tokenkeeper/oauth2`) after `tokenKeeper()`: `start` redirects to the
 * upstream's sign-in; `callback` logs `req.upstream` in and redirects back. Errors (a wrong
 * `state` is `INVALID_CALLBACK`, 400) go to `tokenKeeperErrors()`.
 *
 * @example
 * app.use(tokenKeeper({ keeper, cookie: { secret } }), connectRoutes(oauthConnect({ protocol, redirectUri, secret })));
 */
export function connectRoutes(login: RedirectLogin<RegisteredCredentials>, options: ConnectRoutesOptions = {}): RequestHandler {
  const paths = { start: options.start ?? '/connect', finish: options.callback ?? '/callback' };
  return async (req, res, next) => {
    const step = req.method === 'GET' ? redirectLoginStep(req.path, paths) : undefined;
    if (!step) return next();
    try {
      const answer = await runRedirectLogin(login, step, { url: req.originalUrl, cookieHeader: cookieHeaderOf(req) }, req.upstream);
      res.append('set-cookie', answer.setCookies).redirect(303, answer.location);
    } catch (error) {
      next(error);
    }
  };
}
