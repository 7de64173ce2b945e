import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import {
  cookieHeaderOf,
  type RequestSession,
  redirectLoginStep,
  runRedirectLogin,
  SessionSource,
  type TokenKeeper,
} from '@tokenkeeper/auth-core';
import { TOKEN_KEEPER, TOKEN_KEEPER_MODULE_OPTIONS, type TokenKeeperModuleOptions, type UpstreamRequest } from './options.js';

interface Binding {
  sessions: UpstreamSessions;
  response: ServerResponse;
}

type BoundRequest = UpstreamRequest & { raw?: BoundRequest };

/**
 * Each request's binding and session, kept off the request object: on Express, each request's
 * prototype is swapped, and V8 then copies the request's whole shape for every property added
 * to it (measured for `@tokenkeeper/express`'s `req.upstream`: about 10,000 instructions a request).
 */
const bindings = new WeakMap<object, Binding>();
const sessionsOf = new WeakMap<object, RequestSession<any>>();

/** Builds each request's {@link RequestSession}: its key from the `sessionKey` function or the signed cookie. */
@Injectable()
export class UpstreamSessions {
  readonly keeper: TokenKeeper<any>;
  readonly #source: SessionSource<UpstreamRequest>;

  constructor(@Inject(TOKEN_KEEPER) keeper: TokenKeeper<any>, @Inject(TOKEN_KEEPER_MODULE_OPTIONS) options: TokenKeeperModuleOptions) {
    this.keeper = keeper;
    // SessionSource validates the options, with TypeErrors that name this module.
    this.#source = new SessionSource(
      { keeper, sessionKey: options.sessionKey, cookie: options.cookie },
      { adapter: 'TokenKeeperModule', request: 'request' },
    );
  }

  /**
   * A new session for `request`, keyed by the `sessionKey` function or the signed cookie.
   * `reply` is the platform's response object, when it is Fastify's: cookies go through it.
   */
  build(request: UpstreamRequest, response: ServerResponse, reply?: unknown): RequestSession<any> {
    return this.#source.sessionFor(
      request,
      this.#source.usesCookie ? cookieHeaderOf((request as BoundRequest).raw ?? request) : undefined,
      setCookieOn(response, reply),
    );
  }

  /** Hands `request` to these sessions; its session is built only when first used. */
  bind(request: IncomingMessage, response: ServerResponse): void {
    bindings.set(request, { sessions: this, response });
  }
}

/** Hands every request the module's {@link UpstreamSessions}; the session itself is built only when used. */
@Injectable()
export class UpstreamSessionMiddleware implements NestMiddleware<IncomingMessage, ServerResponse> {
  readonly #sessions: UpstreamSessions;

  constructor(@Inject(UpstreamSessions) sessions: UpstreamSessions) {
    this.#sessions = sessions;
  }

  use(request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void): void {
    this.#sessions.bind(request, response);
    next();
  }
}

/**
 * Serves the `connect` option's two routes: a redirect to the upstream's sign-in, and the way
 * back that logs the request's session in. Every other request passes through.
 */
@Injectable()
export class ConnectRoutesMiddleware implements NestMiddleware<IncomingMessage, ServerResponse> {
  readonly #connect: TokenKeeperModuleOptions['connect'];
  readonly #paths: { start: string; finish: string };

  constructor(@Inject(TOKEN_KEEPER_MODULE_OPTIONS) options: TokenKeeperModuleOptions) {
    this.#connect = options.connect;
    this.#paths = { start: options.connect?.start ?? '/connect', finish: options.connect?.callback ?? '/callback' };
  }

  async use(request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void): Promise<void> {
    const url = (request as { originalUrl?: string }).originalUrl ?? request.url ?? '/';
    const step = this.#connect && request.method === 'GET' ? redirectLoginStep(url.split('?')[0]!, this.#paths) : undefined;
    if (!step) return next();
    try {
      const answer = await runRedirectLogin(
        this.#connect!.login,
        step,
        { url, cookieHeader: cookieHeaderOf(request) },
        requestSessionOf(request),
      );
      for (const cookie of answer.setCookies) appendSetCookie(response, cookie);
      response.writeHead(303, { location: answer.location }).end();
    } catch (error) {
      next(error);
    }
  }
}

/**
 * The session of `request` (the platform's request object), built on first use and kept for
 * the request in {@link sessionsOf}, so the decorator and the guard share one.
 */
export function requestSessionOf(request: BoundRequest, reply?: unknown): RequestSession<any> {
  const cached = sessionsOf.get(request);
  if (cached) return cached;
  const binding = bindings.get(request) ?? (request.raw ? bindings.get(request.raw) : undefined);
  if (!binding) {
    throw new Error(
      '@tokenkeeper/nestjs: this request did not pass the TokenKeeperModule middleware; import TokenKeeperModule.forRoot() in the app module',
    );
  }
  const session = binding.sessions.build(request, binding.response, reply);
  sessionsOf.set(request, session);
  return session;
}

/**
 * Where a session's `Set-Cookie` headers go. On Fastify, its reply: Fastify writes the reply's
 * own headers with `writeHead`, which would replace a `Set-Cookie` set on Node's response.
 */
function setCookieOn(response: ServerResponse, reply: unknown): (header: string) => void {
  const fastifyReply = reply as { raw?: unknown; header?: (name: string, value: string) => unknown } | undefined;
  if (fastifyReply?.raw === response && typeof fastifyReply.header === 'function') {
    return (header) => void fastifyReply.header!('set-cookie', header);
  }
  return (header) => appendSetCookie(response, header);
}

function appendSetCookie(response: ServerResponse, header: string): void {
  const previous = response.getHeader('set-cookie');
  const list = previous === undefined ? [] : Array.isArray(previous) ? previous : [String(previous)];
  response.setHeader('set-cookie', [...list, header]);
}
