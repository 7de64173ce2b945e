/** The guides' "Full configuration" files, run against the fake upstream of their protocol. */
import { randomBytes } from 'node:crypto';
import { startFakeUpstream } from '@tokenkeeper/testing';
import { describe, expect, inject, it } from 'vitest';
import * as basic from './basic-auth.js';
import * as rotating from './refresh-token.js';
import * as renew from './session-renew.js';

describe('the session-renew guide', () => {
  it('logs users in, maps 401 and 404 to their codes, and keeps a service session', async () => {
    const upstream = await startFakeUpstream({ protocol: 'sessionRenew' });
    const keeper = renew.createKeeper({ credentialsFor: async () => undefined }, upstream.url);
    try {
      await renew.startNightlyExport(keeper, { email: 'ada@example.test', password: 'ada-password-1', selectedOrg: 7 });
      expect(await keeper.session('nightly-export').state()).toMatchObject({ status: 'active', service: true });
      expect(await (await keeper.session('nightly-export').fetch('/user/users/me')).json()).toMatchObject({ id: 1 });

      await expect(keeper.session('x').login({ email: 'ada@example.test', password: 'wrong', selectedOrg: 7 })).rejects.toMatchObject({
        code: 'INVALID_CREDENTIALS',
        status: 401,
      });
      await expect(
        keeper.session('y').login({ email: 'nomember@example.test', password: 'nomember-password-3', selectedOrg: 7 }),
      ).rejects.toMatchObject({ code: 'NO_ACTIVE_MEMBERSHIP', status: 403 });
    } finally {
      await keeper.close();
      await upstream.close();
    }
  });
});

describe('the refresh-token guide', () => {
  it('connects a user to account 100 on a Redis-backed keeper, and refuses an account the user lacks', async () => {
    const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
    Object.assign(process.env, { REDIS_URL: inject('redisUrl'), TOKEN_KEY: randomBytes(32).toString('base64') });
    const { keeper, store } = rotating.createKeeper({ credentialsFor: async () => undefined }, upstream.url);
    try {
      await rotating.connect(keeper, 'user-1', 'ada', 'ada-password-1');
      expect(await (await keeper.session('user-1').fetch('/reports/call-data')).json()).toMatchObject({ userId: 1 });

      await expect(rotating.connect(keeper, 'user-2', 'grace', 'grace-password-2')).rejects.toMatchObject({
        code: 'ACCESS_DENIED',
        status: 403,
      });
    } finally {
      await keeper.close();
      await store.close();
      await upstream.close();
    }
  });
});

describe('the HTTP Basic guide', () => {
  it('checks credentials before it logs the ops session in', async () => {
    const upstream = await startFakeUpstream({ protocol: 'basicAuth' });
    const keeper = basic.createKeeper(upstream.url);
    try {
      expect(await basic.connectOps(keeper, { username: 'ada', password: 'wrong' })).toBe(false);
      expect(await keeper.session('ops').state()).toMatchObject({ status: 'none' });
      expect(upstream.stats.logins).toBe(0);

      expect(await basic.connectOps(keeper, { username: 'ada', password: 'ada-password-1' })).toBe(true);
      expect((await keeper.session('ops').fetch('/api/core/v2/namespaces')).status).toBe(200);
    } finally {
      await keeper.close();
      await upstream.close();
    }
  });
});
