import { type CanActivate, createParamDecorator, type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import type { RequestSession } from '@tokenkeeper/auth-core';
import { requestSessionOf } from './sessions.js';

/** The upstream session of the request being handled (HTTP only). */
export function upstreamSessionOf<Credentials = unknown>(context: ExecutionContext): RequestSession<Credentials> {
  const http = context.switchToHttp();
  return requestSessionOf(http.getRequest(), http.getResponse());
}

/**
 * The request's upstream session: `login`, `fetch`, `token`, `logout`, `state`.
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

/** Lets a request through only when it has a live upstream session; otherwise answers 401 `{ error: 'NOT_LOGGED_IN', message }`. */
@Injectable()
export class UpstreamSessionGuard implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const state = await upstreamSessionOf(context).state();
    if (state.status === 'none') throw new UnauthorizedException({ error: 'NOT_LOGGED_IN', message: 'no upstream session: log in first' });
    return true;
  }
}
