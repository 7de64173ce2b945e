import type { ExecutionContext } from '@nestjs/common';
import type { RefreshTokenCredentials, RequestSession, SessionState } from '@tokenkeeper/auth-core';
import { describe, expectTypeOf, it } from 'vitest';
import { type UpstreamSession, upstreamSessionOf } from '../src/index.js';

describe('the @UpstreamSession() parameter type', () => {
  it('is the request’s RequestSession', () => {
    expectTypeOf<UpstreamSession>().toEqualTypeOf<RequestSession<unknown>>();
    expectTypeOf<UpstreamSession['fetch']>().returns.toEqualTypeOf<Promise<Response>>();
    expectTypeOf<UpstreamSession['state']>().returns.toEqualTypeOf<Promise<SessionState>>();
  });

  it('narrows login to the protocol’s credentials', () => {
    expectTypeOf<UpstreamSession<RefreshTokenCredentials>['login']>().parameter(0).toEqualTypeOf<RefreshTokenCredentials>();
    expectTypeOf(upstreamSessionOf<RefreshTokenCredentials>)
      .parameter(0)
      .toEqualTypeOf<ExecutionContext>();
    expectTypeOf(upstreamSessionOf<RefreshTokenCredentials>).returns.toEqualTypeOf<RequestSession<RefreshTokenCredentials>>();
  });

  it('is a parameter decorator factory', async () => {
    const { UpstreamSession } = await import('../src/index.js');
    expectTypeOf(UpstreamSession).returns.toEqualTypeOf<ParameterDecorator>();
  });
});
