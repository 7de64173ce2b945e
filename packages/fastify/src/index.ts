import {
  authErrorResponse,
  cookieHeaderOf,
  type RequestSession,
  SessionSource,
  type SessionSourceOptions,
  type TokenKeeper,
} from '@tokenkeeper/auth-core';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/**
 * Augment this interface to narrow the credentials type of `request.upstream` for the whole app:
 *
 * @example
 * import type { RefreshTokenCredentials } from '@tokenkeeper/auth-core';
 * declare module '@tokenkeeper/fastify' {
 *   interface Register { credentials: RefreshTokenCredentials }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the app through declaration merging
export interface Register {}

/** The credentials type of `request.upstream`: what {@link Register} names, else `unknown`. */
export type RegisteredCredentials<R = Register> = R extends { credentials: infer Credentials } ? Credentials : unknown;

/** What `request.upstream` is. */
export type UpstreamSession = RequestSession<RegisteredCredentials>;

/** The keeper the plugin takes: any keeper, or once {@link Register} names credentials, a keeper of those. */
export type RegisteredKeeper<R = Register> = R extends { credentials: infer Credentials } ? TokenKeeper<Credentials> : TokenKeeper<any>;

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's upstream session, attached by the `tokenKeeper` plugin; logged out until `login()`. */
    upstream: UpstreamSession;
  }
}

/**
 * Options of {@link tokenKeeper}: a keeper, and a `sessionKey` function (`(request) => request.user?.id`)
 * or the built-in `cookie`.
 */
export interface TokenKeeperPluginOptions extends SessionSourceOptions<FastifyRequest, RegisteredKeeper> {
  /**
   * Set the error handler that answers an `AuthError` with its status and `{ error: code, message }`
   * (and passes every other error on to the handler it replaces). Default `true`; turn it off in an
   * app that answers errors itself, with `authErrorResponse` from `@tokenkeeper/auth-core`.
   */
  errorHandler?: boolean;
}

/**
 * Answers an `AuthError` with its status and `{ error: code, message }`; every other error is
 * rethrown, which hands it to the error handler this one was set over (Fastify's own answers 500,
 * or the error's `statusCode`).
 */
export function tokenKeeperErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const answer = authErrorResponse(error);
  if (!answer) throw error;
  return reply.code(answer.status).send(answer.body);
}

// Async, so an invalid option rejects `register` instead of throwing out of Fastify's plugin loader.
const plugin: FastifyPluginAsync<TokenKeeperPluginOptions> = async (fastify, options) => {
  const source = new SessionSource<FastifyRequest, RegisteredCredentials>(options, { adapter: 'tokenKeeper', request: 'request' });
  if (options.errorHandler !== undefined && typeof options.errorHandler !== 'boolean') {
    throw new TypeError('tokenKeeper: errorHandler must be a boolean');
  }
  fastify.decorateRequest('upstream', null as unknown as UpstreamSession);
  fastify.addHook('onRequest', (request, reply, next) => {
    request.upstream = source.sessionFor(
      request,
      source.usesCookie ? cookieHeaderOf(request.raw) : undefined,
      (header) => void reply.header('set-cookie', header),
    );
    next();
  });
  if (options.errorHandler !== false) fastify.setErrorHandler(tokenKeeperErrorHandler);
};

/**
 * The plugin: decorates every request with `request.upstream`, the request's session with the
 * upstream, and (unless `errorHandler: false`) answers an `AuthError` with its status and
 * `{ error: code, message }`. Built with `fastify-plugin`, so it applies to the scope it is
 * registered in and every scope inside it. Invalid options make `register` fail with a
 * `TypeError` naming the option.
 *
 * @example
 * await app.register(tokenKeeper, { keeper, cookie: { secret: process.env.COOKIE_SECRET! } });
 * app.post('/login', async (request) => request.upstream.login(request.body));
 * app.get('/incidents', async (request) => (await request.upstream.fetch('/incidents')).json());
 */
export const tokenKeeper = fp(plugin, { fastify: '5.x', name: '@tokenkeeper/fastify' });
