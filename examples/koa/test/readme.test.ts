import { startFakeUpstream } from '@tokenkeeper/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, type RunningSnippet, SECRET, startSnippet, USER_IDS } from '../../../docs/snippets/support.js';

const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
let app: RunningSnippet;
beforeAll(async () => {
  app = await startSnippet(() => import('../src/readme.js'), { UPSTREAM_URL: upstream.url, COOKIE_SECRET: SECRET });
});
afterAll(async () => {
  await app.close();
  await upstream.close();
});

describe('the Koa snippet (README.md, packages/koa/README.md), as pasted', () => {
  it("logs a user in through its own /login route, serves the upstream's report as that user, and logs out", async () => {
    const ada = new Browser(app.url);

    expect(await ada.get('/reports/call-data')).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
    expect(await ada.login({ username: 'ada', password: 'ada-password-1' })).toMatchObject({ status: 200, body: { status: 'active' } });
    expect(await ada.get('/reports/call-data')).toMatchObject({ status: 200, body: { userId: USER_IDS.ada } });
    expect((await ada.request('POST', '/logout')).status).toBe(204);
    expect(await ada.get('/reports/call-data')).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
  });

  it("passes the upstream's status through: an unknown report is a 404", async () => {
    const ada = new Browser(app.url);
    await ada.login({ username: 'ada', password: 'ada-password-1' });

    expect((await ada.get('/reports/no-such-report')).status).toBe(404);
  });
});
