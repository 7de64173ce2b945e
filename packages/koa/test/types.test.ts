import Router from '@koa/router';
import type { RefreshTokenCredentials, RequestSession, SessionState, TokenKeeper } from '@tokenkeeper/auth-core';
import Koa, { type Context, type DefaultState, type Middleware } from 'koa';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type Register,
  type RegisteredCredentials,
  type RegisteredKeeper,
  type TokenKeeperMiddlewareOptions,
  tokenKeeper,
  type UpstreamSession,
  type UpstreamState,
} from '../src/index.js';

// These are checked by `tsc -p tsconfig.test.json`; at run time they only have to not throw.
describe('types', () => {
  it("puts a RequestSession on Koa's default state as ctx.state.upstream", () => {
    expectTypeOf<DefaultState['upstream']>().toEqualTypeOf<UpstreamSession>();
    expectTypeOf<UpstreamSession>().toEqualTypeOf<RequestSession<RegisteredCredentials>>();
    new Koa().use(async (ctx) => {
      expectTypeOf(ctx.state.upstream).toEqualTypeOf<UpstreamSession>();
    });
    new Router().get('/me', async (ctx) => {
      expectTypeOf(ctx.state.upstream.fetch).returns.toEqualTypeOf<Promise<Response>>();
      expectTypeOf(ctx.state.upstream.login).returns.toEqualTypeOf<Promise<SessionState>>();
      expectTypeOf(ctx.state.upstream.key).toEqualTypeOf<string | undefined>();
    });
  });

  it('offers UpstreamState for apps and routers with a state type of their own', () => {
    new Router<{ user: { id: string } } & UpstreamState>().get('/me', async (ctx) => {
      expectTypeOf(ctx.state.upstream).toEqualTypeOf<UpstreamSession>();
      expectTypeOf(ctx.state.user.id).toEqualTypeOf<string>();
    });
  });

  it('types credentials as unknown until the app registers its credentials type', () => {
    // biome-ignore lint/complexity/noBannedTypes: an empty Register is exactly what is being checked
    expectTypeOf<Register>().toEqualTypeOf<{}>();
    expectTypeOf<RegisteredCredentials>().toBeUnknown();
    expectTypeOf<RegisteredCredentials<{ credentials: RefreshTokenCredentials }>>().toEqualTypeOf<RefreshTokenCredentials>();
  });

  it('returns Koa middleware', () => {
    expectTypeOf(tokenKeeper).returns.toEqualTypeOf<Middleware>();
  });

  it('takes a keeper of any credentials type until the app registers one, then only a keeper of those', () => {
    expectTypeOf<TokenKeeperMiddlewareOptions['keeper']>().toEqualTypeOf<TokenKeeper<any>>();
    expectTypeOf<RegisteredKeeper<{ credentials: RefreshTokenCredentials }>>().toEqualTypeOf<TokenKeeper<RefreshTokenCredentials>>();
  });

  it('takes a sessionKey function of the context', () => {
    type Options = TokenKeeperMiddlewareOptions;
    expectTypeOf<NonNullable<Options['sessionKey']>>().parameter(0).toEqualTypeOf<Context>();
    expectTypeOf<(ctx: Context) => Promise<string | undefined>>().toExtend<NonNullable<Options['sessionKey']>>();
    // @ts-expect-error keeper is required
    expectTypeOf<{ cookie: { secret: string } }>().toExtend<Options>();
  });
});
