import type { RefreshTokenCredentials, RequestSession, SessionState, TokenKeeper } from '@tokenkeeper/auth-core';
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type Register,
  type RegisteredCredentials,
  type RegisteredKeeper,
  type TokenKeeperMiddlewareOptions,
  tokenKeeper,
  tokenKeeperErrors,
  type UpstreamSession,
} from '../src/index.js';

// These are checked by `tsc -p tsconfig.test.json`; at run time they only have to not throw.
describe('types', () => {
  it('puts a RequestSession on every Express request as req.upstream', () => {
    expectTypeOf<Request['upstream']>().toEqualTypeOf<UpstreamSession>();
    expectTypeOf<UpstreamSession>().toEqualTypeOf<RequestSession<RegisteredCredentials>>();
    express().get('/me', async (req, res) => {
      expectTypeOf(req.upstream.fetch).returns.toEqualTypeOf<Promise<Response>>();
      expectTypeOf(req.upstream.login).returns.toEqualTypeOf<Promise<SessionState>>();
      expectTypeOf(req.upstream.key).toEqualTypeOf<string | undefined>();
      res.end();
    });
  });

  it('types credentials as unknown until the app registers its credentials type', () => {
    // biome-ignore lint/complexity/noBannedTypes: an empty Register is exactly what is being checked
    expectTypeOf<Register>().toEqualTypeOf<{}>();
    expectTypeOf<RegisteredCredentials>().toBeUnknown();
    expectTypeOf<RegisteredCredentials<{ credentials: RefreshTokenCredentials }>>().toEqualTypeOf<RefreshTokenCredentials>();
  });

  it('returns Express middleware and error middleware', () => {
    expectTypeOf(tokenKeeper).returns.toEqualTypeOf<RequestHandler>();
    expectTypeOf(tokenKeeperErrors).returns.toEqualTypeOf<ErrorRequestHandler>();
  });

  it('takes a keeper of any credentials type until the app registers one, then only a keeper of those', () => {
    expectTypeOf<TokenKeeperMiddlewareOptions['keeper']>().toEqualTypeOf<TokenKeeper<any>>();
    expectTypeOf<RegisteredKeeper<{ credentials: RefreshTokenCredentials }>>().toEqualTypeOf<TokenKeeper<RefreshTokenCredentials>>();
  });

  it('takes a sessionKey function of the request', () => {
    type Options = TokenKeeperMiddlewareOptions;
    expectTypeOf<NonNullable<Options['sessionKey']>>().parameter(0).toEqualTypeOf<Request>();
    expectTypeOf<(req: Request) => Promise<string | undefined>>().toExtend<NonNullable<Options['sessionKey']>>();
    // @ts-expect-error keeper is required
    expectTypeOf<{ cookie: { secret: string } }>().toExtend<Options>();
  });
});
