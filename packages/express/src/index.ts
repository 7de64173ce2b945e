import {
  authErrorResponse,
  RequestSession,
  SessionCookie,
  type SessionCookieOptions,
  sessionKeyOf,
  TokenKeeper,
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

/** Options of {@link tokenKeeper}. */
export interface TokenKeeperMiddlewareOptions {
  /** The keeper that holds the sessions. Required. */
  keeper: RegisteredKeeper;
  /**
   * For apps that already know their user: the session key of a request (`(req) => req.user?.id`),
   * possibly async. A non-empty string (at most 1,024 characters) or a safe integer is a key;
   * anything else means "no session". If it throws, the error goes to Express's error handling.
   * Default: none, the built-in signed cookie (`cookie`) holds a random session id.
   */
  sessionKey?: (req: Request) => unknown;
  /** The built-in session cookie; `cookie.secret` is required when there is no `sessionKey`. */
  cookie?: SessionCookieOptions;
}

/**
 * Attaches `req.upstream`, the request's session with the upstream.
 *
 * @example
 * app.use(express.json(), tokenKeeper({ keeper, cookie: { secret: process.env.COOKIE_SECRET! } }));
 * app.post('/login', async (req, res) => res.json(await req.upstream.login(req.body)));
 * app.get('/incidents', async (req, res) => res.json(await (await req.upstream.fetch('/incidents')).json()));
 * app.use(tokenKeeperErrors());
 */
export function tokenKeeper(options: TokenKeeperMiddlewareOptions): RequestHandler {
  const { keeper, sessionKey } = checkOptions(options);
  if (sessionKey) {
    return async (req, _res, next) => {
      let key: string | undefined;
      try {
        key = sessionKeyOf(await sessionKey(req));
      } catch (error) {
        return next(error);
      }
      req.upstream = new RequestSession(keeper, key);
      next();
    };
  }
  const cookie = new SessionCookie(options.cookie!);
  return (req, res, next) => {
    const setCookie = (header: string) => void res.append('set-cookie', header);
    req.upstream = new RequestSession(keeper, cookie.read(req.headers.cookie), { cookie, setCookie });
    next();
  };
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

function checkOptions(options: TokenKeeperMiddlewareOptions) {
  if (typeof options !== 'object' || options === null) throw new TypeError('tokenKeeper: options must be an object');
  if (!(options.keeper instanceof TokenKeeper)) throw new TypeError('tokenKeeper: keeper must be a TokenKeeper');
  if (options.sessionKey !== undefined && typeof options.sessionKey !== 'function') {
    throw new TypeError('tokenKeeper: sessionKey must be a function of the request');
  }
  if (options.sessionKey !== undefined && options.cookie !== undefined) {
    throw new TypeError('tokenKeeper: give either sessionKey or cookie, not both');
  }
  if (options.sessionKey === undefined && options.cookie?.secret === undefined) {
    throw new TypeError('tokenKeeper: cookie.secret is required when there is no sessionKey function');
  }
  return { keeper: options.keeper, sessionKey: options.sessionKey };
}
