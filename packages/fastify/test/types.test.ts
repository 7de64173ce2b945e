import type { RefreshTokenCredentials, RequestSession, SessionState, TokenKeeper } from '@tokenkeeper/auth-core';
import Fastify, { type FastifyPluginAsync, type FastifyRequest } from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type Register,
  type RegisteredCredentials,
  type RegisteredKeeper,
  type TokenKeeperPluginOptions,
  tokenKeeper,
  tokenKeeperErrorHandler,
  type UpstreamSession,
} from '../src/index.js';

// These are checked by `tsc -p tsconfig.test.json`; at run time they only have to not throw.
describe('types', () => {
  it('puts a RequestSession on every Fastify request as request.upstream', () => {
    expectTypeOf<FastifyRequest['upstream']>().toEqualTypeOf<UpstreamSession>();
    expectTypeOf<UpstreamSession>().toEqualTypeOf<RequestSession<RegisteredCredentials>>();
    Fastify().get('/me', async (request) => {
      expectTypeOf(request.upstream.fetch).returns.toEqualTypeOf<Promise<Response>>();
      expectTypeOf(request.upstream.login).returns.toEqualTypeOf<Promise<SessionState>>();
      expectTypeOf(request.upstream.key).toEqualTypeOf<string | undefined>();
      return null;
    });
  });

  it('types credentials as unknown until the app registers its credentials type', () => {
    // biome-ignore lint/complexity/noBannedTypes: an empty Register is exactly what is being checked
    expectTypeOf<Register>().toEqualTypeOf<{}>();
    expectTypeOf<RegisteredCredentials>().toBeUnknown();
    expectTypeOf<RegisteredCredentials<{ credentials: RefreshTokenCredentials }>>().toEqualTypeOf<RefreshTokenCredentials>();
  });

  it('is a Fastify plugin of its options, and the error handler fits setErrorHandler', () => {
    expectTypeOf(tokenKeeper).toExtend<FastifyPluginAsync<TokenKeeperPluginOptions>>();
    Fastify().setErrorHandler(tokenKeeperErrorHandler);
  });

  it('takes a keeper of any credentials type until the app registers one, then only a keeper of those', () => {
    expectTypeOf<TokenKeeperPluginOptions['keeper']>().toEqualTypeOf<TokenKeeper<any>>();
    expectTypeOf<RegisteredKeeper<{ credentials: RefreshTokenCredentials }>>().toEqualTypeOf<TokenKeeper<RefreshTokenCredentials>>();
  });

  it('takes a sessionKey function of the request, and an errorHandler switch', () => {
    type Options = TokenKeeperPluginOptions;
    expectTypeOf<NonNullable<Options['sessionKey']>>().parameter(0).toEqualTypeOf<FastifyRequest>();
    expectTypeOf<(request: FastifyRequest) => Promise<string | undefined>>().toExtend<NonNullable<Options['sessionKey']>>();
    expectTypeOf<Options['errorHandler']>().toEqualTypeOf<boolean | undefined>();
    // @ts-expect-error keeper is required
    expectTypeOf<{ cookie: { secret: string } }>().toExtend<Options>();
  });
});
