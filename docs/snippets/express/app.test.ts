import { startFakeUpstream } from '@tokenkeeper/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, type RunningSnippet, SECRET, startSnippet, USER_IDS } from '../support.js';

const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
let app: RunningSnippet;
beforeAll(async () => {
  app = await startSnippet(() => import('./app.js'), { UPSTREAM_URL: upstream.url, COOKIE_SECRET: SECRET });
});
afterAll(async () => {
  await app.close();
  await upstream.close();
});

describe('the Express snippet (README.md, packages/express/README.md), as pasted', () => {
  it("logs a user in, serves the upstream's report as that user, and logs out", async () => {
    const ada = new Browser(app.url);

    expect(await ada.login({ username: 'ada', password: 'ada-password-1' })).toMatchObject({ status: 200, body: { status: 'active' } });
    expect(await ada.get('/reports/call-data')).toMatchObject({ status: 200, body: { userId: USER_IDS.ada } });
    expect((await ada.request('POST', '/logout')).status).toBe(204);
    expect(await ada.get('/reports/call-data')).toMatchObject({
      status: 401,
      body: { error: 'NOT_LOGGED_IN', message: 'no session: log in first' },
    });
  });

  it("passes the upstream's status through: a report the upstream does not have is a 404, not a 500", async () => {
    const grace = new Browser(app.url);
    await grace.login({ username: 'grace', password: 'grace-password-2' });

    expect((await grace.get('/reports/no-such-report')).status).toBe(404);
    upstream.faults.next('api', 'status503');
    expect(await grace.get('/reports/call-data')).toMatchObject({ status: 503 });
    upstream.faults.next('api', 'htmlError');
    expect(await grace.get('/reports/call-data')).toMatchObject({ status: 500, body: expect.stringContaining('<html') });
  });

  it('answers a wrong password with 401 INVALID_CREDENTIALS, and no session cookie', async () => {
    const answer = await new Browser(app.url).login({ username: 'ada', password: 'wrong' });

    expect(answer).toMatchObject({ status: 401, body: { error: 'INVALID_CREDENTIALS' } });
    expect(answer.setCookies).toEqual([]);
  });
});
