import { TokenKeeper } from '@tokenkeeper/auth-core';
import { tokenKeeper } from '@tokenkeeper/express';
import { fakeUpstreamPreset, startFakeUpstream } from '@tokenkeeper/testing';
import express from 'express';
import { expect, it } from 'vitest';
import { serve } from '../../../test/support/adapter-fixtures.js';
import { callData } from './handler.js';

it("the README's one-line route handler answers as the request's user, with the upstream's status", async () => {
  const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
  const keeper = new TokenKeeper({ protocol: fakeUpstreamPreset(upstream) });
  const app = express()
    .use(tokenKeeper({ keeper, sessionKey: (req) => req.get('x-user') }))
    .get('/calls', callData);
  const url = await serve(app.listen(0, '127.0.0.1')); // closed after the test
  try {
    await keeper.session('grace').login({ username: 'grace', password: 'grace-password-2' });

    const answer = await fetch(`${url}/calls`, { headers: { 'x-user': 'grace' } });
    expect({ status: answer.status, body: await answer.json() }).toMatchObject({ status: 200, body: { userId: 2 } });
    upstream.faults.next('api', 'status502');
    expect((await fetch(`${url}/calls`, { headers: { 'x-user': 'grace' } })).status).toBe(502);
  } finally {
    await keeper.close();
    await upstream.close();
  }
});
