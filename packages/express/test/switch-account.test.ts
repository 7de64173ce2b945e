import { describe, expect, it } from 'vitest';
import { PROTOCOLS, startApp } from './support.js';

const teletracker = PROTOCOLS.find((protocol) => protocol.name === 'refreshToken')!;

describe('account switching through req.upstream', () => {
  it('switches a logged-in user to another of their accounts, and the same cookie then calls the API as that account', async () => {
    const { browser, upstream } = await startApp(teletracker);
    const grace = browser();
    await grace.login(teletracker.credentials('grace'));
    expect((await grace.get('/data')).body).toMatchObject({ userId: 2, accountId: 200 });

    expect(await grace.request('POST', '/switch', { accountId: 201 })).toMatchObject({ status: 200, body: { status: 'active' } });
    expect((await grace.get('/data')).body).toMatchObject({ userId: 2, accountId: 201 });
    expect(upstream.stats).toMatchObject({ logins: 1, masquerades: 1 });
  });

  it('answers an account the user may not use with 403 ACCESS_DENIED, and the session stays on its account', async () => {
    const { browser } = await startApp(teletracker);
    const ada = browser();
    await ada.login(teletracker.credentials('ada'));

    expect(await ada.request('POST', '/switch', { accountId: 200 })).toMatchObject({
      status: 403,
      body: { error: 'ACCESS_DENIED', message: 'the upstream refused this switch (403)' },
    });
    expect((await ada.get('/data')).body).toMatchObject({ userId: 1, accountId: 100 });
  });
});
