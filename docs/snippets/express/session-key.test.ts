import { TokenKeeper } from '@tokenkeeper/auth-core';
import { tokenKeeperErrors } from '@tokenkeeper/express';
import { fakeUpstreamPreset, startFakeUpstream } from '@tokenkeeper/testing';
import express from 'express';
import { expect, it } from 'vitest';
import { serve } from '../../../test/support/adapter-fixtures.js';
import { useUpstreamSessions } from './session-key.js';

it('the sessionKey snippet keys each request by the user your own auth set, and has no session for anyone else', async () => {
  const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
  const keeper = new TokenKeeper({ protocol: fakeUpstreamPreset(upstream) });
  try {
    const app = express();
    // A stand-in for passport: a trusted header names the user.
    useUpstreamSessions(app, keeper, (req, _res, next) => {
      const id = req.get('x-test-user');
      if (id) req.user = { id };
      next();
    });
    app.get('/calls', async (req, res) => res.json(await (await req.upstream.fetch('/reports/call-data')).json()));
    app.use(tokenKeeperErrors());
    const url = await serve(app.listen(0, '127.0.0.1'));
    await keeper.session('user-7').login({ username: 'grace', password: 'grace-password-2' });

    const grace = await fetch(`${url}/calls`, { headers: { 'x-test-user': 'user-7' } });
    expect(await grace.json()).toMatchObject({ userId: 2 });
    const stranger = await fetch(`${url}/calls`);
    expect({ status: stranger.status, body: await stranger.json() }).toEqual({
      status: 401,
      body: { error: 'NOT_LOGGED_IN', message: 'no session: log in first' },
    });
  } finally {
    await keeper.close();
    await upstream.close();
  }
});
