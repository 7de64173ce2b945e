import type { AddressInfo } from 'node:net';
import { startFakeUpstream } from '@tokenkeeper/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { accountsApp } from '../docs/snippets/refresh-token/switch-account.js';
import { guideBlock, snippetFile } from './support/guide-snippets.js';

const SNIPPET = 'docs/snippets/refresh-token/switch-account.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the refresh-token guide’s accounts section', () => {
  it('shows the switching app character for character', async () => {
    expect(await guideBlock('docs/guides/refresh-token.md', SNIPPET)).toBe(await snippetFile(SNIPPET));
  });

  it('runs it: log in to an account, switch to another, and a foreign account is 403 ACCESS_DENIED', async () => {
    const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
    cleanups.push(() => upstream.close());
    const { app, keeper } = accountsApp(upstream.url, 'a-cookie-secret-of-at-least-32-characters');
    cleanups.push(() => keeper.close());
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let cookie = '';
    const call = async (method: string, path: string, body?: object) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { cookie, ...(body && { 'content-type': 'application/json' }) },
        body: body && JSON.stringify(body),
      });
      cookie = response.headers.getSetCookie()[0]?.split(';')[0] ?? cookie;
      return { status: response.status, body: await response.json() };
    };

    expect(await call('POST', '/login', { username: 'grace', password: 'grace-password-2', account_id: 200 })).toMatchObject({
      status: 200,
    });
    expect((await call('GET', '/calls')).body).toMatchObject({ userId: 2, accountId: 200 });
    expect(await call('POST', '/accounts/201')).toMatchObject({ status: 200, body: { status: 'active' } });
    expect((await call('GET', '/calls')).body).toMatchObject({ userId: 2, accountId: 201 });
    expect(await call('POST', '/accounts/100')).toEqual({
      status: 403,
      body: { error: 'ACCESS_DENIED', message: 'the upstream refused this switch (403)' },
    });
    expect(await call('POST', '/accounts/two')).toEqual({ status: 400, body: { error: 'account ids are integers' } });
  });
});
