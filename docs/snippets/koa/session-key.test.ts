import { TokenKeeper } from '@tokenkeeper/auth-core';
import { fakeUpstreamPreset, startFakeUpstream } from '@tokenkeeper/testing';
import Koa from 'koa';
import { expect, it } from 'vitest';
import { serve } from '../../../test/support/adapter-fixtures.js';
import { useUpstreamSessions } from './session-key.js';

it('the sessionKey snippet keys each request by ctx.state.user, as your own auth set it', async () => {
  const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
  const keeper = new TokenKeeper({ protocol: fakeUpstreamPreset(upstream) });
  try {
    const app = new Koa();
    // A stand-in for koa-passport: a trusted header names the user.
    useUpstreamSessions(app, keeper, async (ctx, next) => {
      const id = ctx.get('x-test-user');
      if (id) ctx.state.user = { id };
      await next();
    });
    app.use(async (ctx) => {
      ctx.body = await (await ctx.state.upstream.fetch('/reports/call-data')).json();
    });
    const url = await serve(app.listen(0, '127.0.0.1'));
    await keeper.session('user-1').login({ username: 'ada', password: 'ada-password-1' });

    expect(await (await fetch(`${url}/`, { headers: { 'x-test-user': 'user-1' } })).json()).toMatchObject({ userId: 1 });
    const stranger = await fetch(`${url}/`);
    expect({ status: stranger.status, body: await stranger.json() }).toEqual({
      status: 401,
      body: { error: 'NOT_LOGGED_IN', message: 'no session: log in first' },
    });
  } finally {
    await keeper.close();
    await upstream.close();
  }
});
