import { afterEach, beforeEach, expect, it } from 'vitest';
import { bootstrap } from '../src/main.js';

let app: Awaited<ReturnType<typeof bootstrap>>;
beforeEach(async () => {
  app = await bootstrap({ port: 0, cookieSecret: 'an-example-cookie-secret-of-32-chars!' });
});
afterEach(() => app.close());

/** One browser: keeps the cookie it is given. */
function browser() {
  let cookie = '';
  return async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${app.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', cookie },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const set = response.headers.getSetCookie()[0];
    if (set) cookie = set.split(';')[0]!;
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
}

it('logs a user in, answers /me and /data as that user, and logs out', async () => {
  const call = browser();
  expect((await call('POST', '/login', { username: 'grace', password: 'grace-password-2' })).status).toBe(200);
  expect(await call('GET', '/me')).toMatchObject({ status: 200, body: { userId: 2, session: { status: 'active' } } });
  expect(await call('GET', '/data')).toMatchObject({ status: 200, body: { success: true, userId: 2 } });
  expect((await call('POST', '/logout')).status).toBe(204);
  expect(await call('GET', '/data')).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
});

it('keeps two browsers’ sessions apart', async () => {
  const ada = browser();
  const grace = browser();
  await ada('POST', '/login', { username: 'ada', password: 'ada-password-1' });
  await grace('POST', '/login', { username: 'grace', password: 'grace-password-2' });
  expect((await ada('GET', '/me')).body.userId).toBe(1);
  expect((await grace('GET', '/me')).body.userId).toBe(2);
});

it('answers wrong credentials with 401 and the error code as JSON', async () => {
  const answer = await browser()('POST', '/login', { username: 'ada', password: 'wrong' });
  expect(answer).toEqual({ status: 401, body: { error: 'INVALID_CREDENTIALS', message: expect.any(String) } });
});
