/**
 * What the Register snippets change, checked by the compiler in a program of their own
 * (../register.test.ts): each `@ts-expect-error` must meet an error, or the check fails.
 */
import './express-register.js';
import './koa-register.js';
import { sessionRenew, TokenKeeper } from '@tokenkeeper/auth-core';
import * as express from '@tokenkeeper/express';
import * as koa from '@tokenkeeper/koa';

declare const expressSession: express.UpstreamSession;
declare const koaSession: koa.UpstreamSession;

export async function uses() {
  await expressSession.login({ username: 'ada', password: 'pw', accountId: 100 });
  await koaSession.login({ username: 'ada', password: 'pw' });
  // @ts-expect-error: login takes RefreshTokenCredentials once they are registered
  await expressSession.login({ email: 'ada@example.test' });
  // @ts-expect-error: the same for Koa
  await koaSession.login({ user: 'ada' });

  const renewKeeper = new TokenKeeper({ protocol: sessionRenew({ baseUrl: 'https://core.vendor.example' }) });
  // @ts-expect-error: tokenKeeper() takes only a keeper of the registered credentials
  express.tokenKeeper({ keeper: renewKeeper, sessionKey: () => 'ada' });
  // @ts-expect-error: the same for Koa
  koa.tokenKeeper({ keeper: renewKeeper, sessionKey: () => 'ada' });
}
