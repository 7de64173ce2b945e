import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { createManualClock } from '@tokenkeeper/testing';
import { describe, expect, it } from 'vitest';
import { defineProtocol, keyHash, TokenKeeper, type TokenSet } from '../src/index.js';
import { protocolCase, rejection, setup } from './harness.js';

// Attacks of the 2026-12 security review that used to work, each held by a spec named after it.

/** An upstream that answers logins in-process, with whatever tokens `issue` makes. */
function inProcess(issue: (now: number) => TokenSet, counter = { logins: 0 }) {
  return defineProtocol<{ user: string }>({
    name: 'in-process',
    baseUrl: 'http://127.0.0.1:9',
    async login(_credentials, client) {
      counter.logins++;
      return issue(client.now());
    },
  });
}

describe('attacks on the keeper', () => {
  it('a defineProtocol login returning a CR/LF token is refused with a message that does not contain the token', async () => {
    const token = 'stolen\r\nX-Injected: yes';
    const keeper = new TokenKeeper({
      protocol: inProcess((now) => ({ accessToken: token, issuedAt: now, expiresAt: now + 60_000 })),
      keepAlive: false,
    });
    try {
      const error = await rejection(() => keeper.session('a').login({ user: 'a' }));
      expect(error).toMatchObject({
        code: 'UPSTREAM_MALFORMED',
        message: "upstream login answer: access token has characters outside RFC 6750's token set",
      });
      expect(inspect(error)).not.toContain('stolen');
    } finally {
      await keeper.close();
    }
  });

  it('tokenLifetime 1e306 cannot make a session that never expires: lifetimes are capped at a year', async () => {
    const clock = createManualClock();
    const keeperFor = new TokenKeeper({
      protocol: inProcess((now) => ({
        accessToken: 'a',
        issuedAt: now,
        expiresAt: now + 1e306 * 1000,
        refreshExpiresAt: Number.POSITIVE_INFINITY,
      })),
      clock,
      keepAlive: false,
    });
    try {
      const state = await keeperFor.session('a').login({ user: 'a' });
      expect(Number.isFinite(state.expiresAt)).toBe(true);
      expect(state.expiresAt! - clock.now()).toBe(366 * 24 * 3_600_000);
      expect(state.refreshExpiresAt! - clock.now()).toBe(366 * 24 * 3_600_000);
    } finally {
      await keeperFor.close();
    }
  });

  it('500 logins with 100 kB credentials cannot fill the memory of rememberCredentials: refused before any I/O', async () => {
    const counter = { logins: 0 };
    const keeper = new TokenKeeper({
      protocol: inProcess((now) => ({ accessToken: 'a', issuedAt: now, expiresAt: now + 60_000 }), counter),
      rememberCredentials: true,
      keepAlive: false,
    });
    try {
      for (let login = 0; login < 500; login++) {
        const error = await rejection(() => keeper.session(`s${login}`).login({ user: 'x'.repeat(100_000) }));
        expect(error).toMatchObject({ code: 'INVALID_CREDENTIALS', message: 'credentials are too large to remember (over 8192 bytes)' });
      }
      expect(counter.logins).toBe(0);
    } finally {
      await keeper.close();
    }
  });

  it('100 concurrent logins for one key make one upstream session, not 99 orphans', async () => {
    const teletracker = protocolCase('refreshToken');
    const { keeper, upstream } = await setup('refreshToken');
    const states = await Promise.all(Array.from({ length: 100 }, () => keeper.session('ada').login(teletracker.credentials('ada'))));
    expect(upstream.stats.logins).toBe(1);
    expect(new Set(states.map((state) => state.expiresAt)).size).toBe(1);
    expect((await keeper.session('ada').fetch(teletracker.resource)).status).toBe(200);
  });

  it('100,000 logins with maxSessions 1,000 leave at most 1,000 keep-alive plans (a plan dies with its evicted key)', async () => {
    const keeper = new TokenKeeper({
      protocol: inProcess((now) => ({ accessToken: 'a', issuedAt: now, expiresAt: now + 3_600_000 })),
      maxSessions: 1_000,
      credentials: () => ({ user: 'u' }),
    });
    try {
      for (let login = 0; login < 100_000; login++) await keeper.session(`user-${login}`).login({ user: 'u' });
      expect(keeper.stats.sessions).toBeLessThanOrEqual(1_000);
      expect(keeper.stats.keepAlivePlanned).toBeLessThanOrEqual(1_000);
    } finally {
      await keeper.close();
    }
  }, 60_000);

  it('the keyHash in logs is keyed: hashing a guessed user id does not find it', () => {
    const unsalted = createHash('sha256').update('user-42').digest('base64url').slice(0, 12);
    expect(keyHash('user-42')).not.toBe(unsalted);
    expect(keyHash('user-42')).toBe(keyHash('user-42')); // stable within the process
    const shared = 's'.repeat(32);
    expect(keyHash('user-42', shared)).toBe(keyHash('user-42', shared)); // and across instances sharing keyHashSecret
    expect(keyHash('user-42', shared)).not.toBe(keyHash('user-42'));
    expect(
      () =>
        new TokenKeeper({
          protocol: inProcess((now) => ({ accessToken: 'a', issuedAt: now, expiresAt: now + 1 })),
          keyHashSecret: 'short',
        }),
    ).toThrow(new TypeError('TokenKeeper: keyHashSecret must be a string of at least 32 characters'));
  });
});

describe('one identity cannot evict everyone', () => {
  it('200 logins by one account (a fresh cookie each, maxSessions 50) leave the victim logged in: the account keeps its newest 10', async () => {
    const teletracker = protocolCase('refreshToken');
    const { keeper, upstream } = await setup('refreshToken', { maxSessions: 50 });
    const victim = keeper.session('victim');
    await victim.login(teletracker.credentials('grace'));
    for (let login = 0; login < 200; login++) await keeper.session(`attacker-${login}`).login(teletracker.credentials('ada'));
    await expect.poll(() => upstream.stats.logins).toBe(201);
    expect((await victim.fetch(teletracker.resource)).status).toBe(200);
    expect((await keeper.session('attacker-199').state()).status).toBe('active');
    expect((await keeper.session('attacker-189').state()).status).toBe('none'); // logged out when the 200th came
    expect(keeper.stats.sessions).toBeLessThanOrEqual(50);
  });
});
