import { type CanActivate, createParamDecorator, type ExecutionContext, Injectable } from '@nestjs/common';
import { AUTH_ERROR_MESSAGES, AuthError, type RequestSession } from '@tokenkeeper/auth-core';
import { requestSessionOf } from './sessions.js';

/** The upstream session of the request being handled (HTTP only). */
export function upstreamSessionOf<Credentials = unknown>(context: ExecutionContext): RequestSession<Credentials> {
  const http = context.switchToHttp();
  return requestSessionOf(http.getRequest(), http.getResponse());
}

/**
 * The request's upstream session: `login`, `fetch`, `token`, `switchAccount`, `logout`, `state`.
 *
 * @example
 * @Get('reports')
 * async reports(@UpstreamSession() upstream: UpstreamSession) {
 *   return (await upstream.fetch('/reports/call-data')).json();
 * }
 */
export const UpstreamSession = createParamDecorator((_data: unknown, context: ExecutionContext) => upstreamSessionOf(context));

/** The type of a `@UpstreamSession()` parameter. */
export type UpstreamSession<Credentials = unknown> = RequestSession<Credentials>;

/**
 * Lets a request through only when it has a live upstream session. Otherwise it throws the same
 * `AuthError` the session would (`NOT_LOGGED_IN`, or `SESSION_EXPIRED` for a session that ended),
 * which the module's filter answers with 401 `{ error, message }`.
 */
@Injectable()
export class UpstreamSessionGuard implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { status } = await upstreamSessionOf(context).state();
    if (status === 'none') throw new AuthError('NOT_LOGGED_IN', AUTH_ERROR_MESSAGES.NOT_LOGGED_IN);
    if (status === 'ended') throw new AuthError('SESSION_EXPIRED', AUTH_ERROR_MESSAGES.SESSION_EXPIRED);
    return true;
  }
}
