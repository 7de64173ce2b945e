import { describe, expect, it } from 'vitest';
import {
  freshUntil,
  learnedLifetime,
  nextRenewalAt,
  type PolicyOptions,
  type RenewalFacts,
  rejectionRenews,
  renewalAction,
  requestAction,
  type SessionFacts,
  statusOf,
} from '../src/policy.js';
import type { TokenSet } from '../src/tokens.js';

// One table per rule, every boundary a row: the keeper, keep-alive and state() only ask these.

const OPTIONS: PolicyOptions = { refreshWindowMs: 60_000, expiryMarginMs: 2_000, retryIntervalMs: 3_000, rejectionBackoffMs: 10_000 };
const HOUR = 3_600_000;
/** An hour-long token issued at 0: the window is 60 s (not a quarter hour), the margin 2 s. */
const hourToken: TokenSet = { accessToken: 'a', issuedAt: 0, expiresAt: HOUR, refreshToken: 'r', refreshExpiresAt: 10 * HOUR };
/** A 40 s token: the window is capped at a quarter (10 s), the margin at a twentieth (2 s → 2 s; 20 s token → 1 s). */
const shortToken: TokenSet = { accessToken: 'a', issuedAt: 0, expiresAt: 40_000 };
const twentySecond: TokenSet = { accessToken: 'a', issuedAt: 0, expiresAt: 20_000 };

const idle: SessionFacts = { renewing: false, failedAt: Number.NEGATIVE_INFINITY, refreshable: true, credentials: false };

describe('what a request does (requestAction)', () => {
  it.each([
    // the refresh window: 60 s before expiry for an hour-long token
    ['well before the window', hourToken, HOUR - 60_001, idle, 'use'],
    ['at the window’s first millisecond', hourToken, HOUR - 60_000, idle, 'use-and-renew'],
    ['in the window with a renewal running', hourToken, HOUR - 30_000, { ...idle, renewing: true }, 'use'],
    // the expiry margin: 2 s before expiry
    ['one millisecond before the margin', hourToken, HOUR - 2_001, idle, 'use-and-renew'],
    ['at the margin', hourToken, HOUR - 2_000, idle, 'wait'],
    ['after expiry', hourToken, HOUR + 1, idle, 'wait'],
    // the window capped at a quarter of a 40 s lifetime (10 s), the margin at a twentieth (2 s)
    ['short token, before its capped window', shortToken, 29_999, idle, 'use'],
    ['short token, at its capped window', shortToken, 30_000, idle, 'use-and-renew'],
    ['20 s token, before its capped margin (1 s)', twentySecond, 18_999, idle, 'use-and-renew'],
    ['20 s token, at its capped margin', twentySecond, 19_000, idle, 'wait'],
    // retryIntervalMs: no request starts another renewal within 3 s of a failure
    ['in the window 2,999 ms after a failure', hourToken, HOUR - 30_000, { ...idle, failedAt: HOUR - 32_999 }, 'use'],
    ['in the window 3,000 ms after a failure', hourToken, HOUR - 30_000, { ...idle, failedAt: HOUR - 33_000 }, 'use-and-renew'],
    ['expired 1 ms after a failure: must still wait', hourToken, HOUR, { ...idle, failedAt: HOUR - 1 }, 'wait'],
    // retryAt: the upstream asked for a pause (Retry-After, slow_down)
    ['expired 1 ms before the pause ends: fail now', hourToken, HOUR, { ...idle, failedAt: HOUR - 10, retryAt: HOUR + 1 }, 'backoff'],
    ['expired as the pause ends: wait for a renewal', hourToken, HOUR, { ...idle, failedAt: HOUR - 10, retryAt: HOUR }, 'wait'],
    ['expired in a pause, but a renewal is running: wait for it', hourToken, HOUR, { ...idle, retryAt: HOUR + 1, renewing: true }, 'wait'],
    ['expired in a pause, and nothing renews it', hourToken, HOUR, { ...idle, refreshable: false, retryAt: HOUR + 1 }, 'ended'],
    ['in the window during a pause: the token serves, no renewal', hourToken, HOUR - 30_000, { ...idle, retryAt: HOUR - 29_999 }, 'use'],
    ['in the window as the pause ends', hourToken, HOUR - 30_000, { ...idle, retryAt: HOUR - 30_000 }, 'use-and-renew'],
    // nothing can renew it: the token serves until it expires, then the session has ended
    ['nothing renews it, in the window', hourToken, HOUR - 30_000, { ...idle, refreshable: false }, 'use'],
    ['nothing renews it, expired', hourToken, HOUR, { ...idle, refreshable: false }, 'ended'],
    ['not refreshable but credentials for a login', hourToken, HOUR, { ...idle, refreshable: false, credentials: true }, 'wait'],
    ['nothing renews it, but a renewal is running', hourToken, HOUR, { ...idle, refreshable: false, renewing: true }, 'wait'],
    // another instance took the refresh token out to present it: its answer will renew the session
    [
      'expired, the refresh token out with another instance',
      hourToken,
      HOUR,
      { ...idle, refreshable: false, refreshingElsewhere: true },
      'wait',
    ],
    [
      'expired, another instance gave up on its refresh',
      hourToken,
      HOUR,
      { ...idle, refreshable: false, refreshingElsewhere: false },
      'ended',
    ],
  ] as const)('%s → %s', (_, tokens, now, facts, expected) => {
    expect(requestAction(tokens, now, facts, OPTIONS)).toBe(expected);
  });

  it.each([
    // with credentials, the refresh token's lapse brings the renewal forward: a login replaces it in time
    ['refresh token lapsing, credentials at hand', { ...hourToken, refreshExpiresAt: HOUR / 2 }, HOUR / 2 - 60_000, true, 'use-and-renew'],
    ['refresh token lapsing, no credentials', { ...hourToken, refreshExpiresAt: HOUR / 2 }, HOUR / 2 - 60_000, false, 'use'],
    [
      'refresh token lapsing, credentials, a millisecond early',
      { ...hourToken, refreshExpiresAt: HOUR / 2 },
      HOUR / 2 - 60_001,
      true,
      'use',
    ],
  ] as const)('%s → %s', (_, tokens, now, credentials, expected) => {
    expect(requestAction(tokens, now, { ...idle, credentials }, OPTIONS)).toBe(expected);
  });
});

describe('the hot path (freshUntil)', () => {
  it('is the last moment at which every combination of facts still says use', () => {
    const tokensList = [hourToken, shortToken, twentySecond, { ...hourToken, refreshExpiresAt: HOUR / 2 }];
    const factsList: SessionFacts[] = [];
    for (const renewing of [false, true])
      for (const refreshable of [false, true])
        for (const credentials of [false, true]) factsList.push({ renewing, refreshable, credentials, failedAt: Number.NEGATIVE_INFINITY });
    for (const options of [OPTIONS, { ...OPTIONS, refreshWindowMs: 0 }, { ...OPTIONS, expiryMarginMs: 0 }]) {
      for (const tokens of tokensList) {
        const until = freshUntil(tokens, options);
        for (const facts of factsList) expect(requestAction(tokens, until - 1, facts, options)).toBe('use');
        const somethingElse = factsList.some((facts) => requestAction(tokens, until, facts, options) !== 'use');
        expect(somethingElse).toBe(true);
      }
    }
  });
});

describe('what a renewal does (renewalAction)', () => {
  const fresh: RenewalFacts = { refreshable: true, credentials: false, rejected: false };
  it.each([
    ['refreshable', hourToken, HOUR - 30_000, fresh, 'refresh'],
    ['refreshable and rejected', hourToken, 0, { ...fresh, rejected: true }, 'refresh'],
    // the refresh token lapses within the window: with credentials a login replaces it, without one it is used while it lasts
    [
      'refresh token lapsing, credentials',
      { ...hourToken, refreshExpiresAt: HOUR },
      HOUR - 30_000,
      { ...fresh, credentials: true },
      'relogin',
    ],
    ['refresh token lapsing, no credentials', { ...hourToken, refreshExpiresAt: HOUR }, HOUR - 30_000, fresh, 'refresh'],
    [
      'refresh token lapses a ms after the window',
      { ...hourToken, refreshExpiresAt: HOUR },
      HOUR - 60_001,
      { ...fresh, credentials: true },
      'refresh',
    ],
    // not refreshable (spent, or the protocol cannot)
    ['spent, credentials', hourToken, HOUR - 30_000, { ...fresh, refreshable: false, credentials: true }, 'relogin'],
    ['spent, no credentials, token still serves', hourToken, HOUR - 30_000, { ...fresh, refreshable: false }, 'keep'],
    ['spent, no credentials, token at the margin', hourToken, HOUR - 2_000, { ...fresh, refreshable: false }, 'end'],
    ['spent, no credentials, token rejected', hourToken, 0, { ...fresh, refreshable: false, rejected: true }, 'end'],
    // after a failed refresh
    ['refused, credentials', hourToken, 0, { ...fresh, refreshFailure: 'refused', credentials: true }, 'relogin'],
    ['refused, no credentials, token valid by its expiry', hourToken, 0, { ...fresh, refreshFailure: 'refused' }, 'end'],
    ['outcome unknown, credentials', hourToken, 0, { ...fresh, refreshFailure: 'unknown', credentials: true }, 'relogin'],
    ['outcome unknown, no credentials, token serves', hourToken, 0, { ...fresh, refreshFailure: 'unknown' }, 'keep'],
    ['outcome unknown, no credentials, token rejected', hourToken, 0, { ...fresh, refreshFailure: 'unknown', rejected: true }, 'end'],
    ['transient, token serves: try later', hourToken, 0, { ...fresh, refreshFailure: 'transient', credentials: true }, 'fail'],
    [
      'transient, token rejected, credentials: log in now',
      hourToken,
      0,
      { ...fresh, refreshFailure: 'transient', credentials: true, rejected: true },
      'relogin',
    ],
    [
      'transient, token expired, credentials: log in now',
      hourToken,
      HOUR,
      { ...fresh, refreshFailure: 'transient', credentials: true },
      'relogin',
    ],
    ['transient, token rejected, no credentials', hourToken, 0, { ...fresh, refreshFailure: 'transient', rejected: true }, 'fail'],
    // another instance took the refresh token out of the record to present it
    [
      'presented elsewhere, token serves: keep it',
      hourToken,
      HOUR - 30_000,
      { ...fresh, refreshable: false, refreshElsewhere: 'running' },
      'keep',
    ],
    [
      'presented elsewhere, token at the margin: wait for its answer',
      hourToken,
      HOUR - 2_000,
      { ...fresh, refreshable: false, refreshElsewhere: 'running' },
      'await',
    ],
    [
      'presented elsewhere, token rejected, even with credentials: wait for its answer',
      hourToken,
      0,
      { ...fresh, refreshable: false, credentials: true, rejected: true, refreshElsewhere: 'running' },
      'await',
    ],
    [
      'abandoned elsewhere, credentials: log in',
      hourToken,
      0,
      { ...fresh, refreshable: false, credentials: true, rejected: true, refreshElsewhere: 'abandoned' },
      'relogin',
    ],
    [
      'abandoned elsewhere, no credentials, token rejected: end',
      hourToken,
      0,
      { ...fresh, refreshable: false, rejected: true, refreshElsewhere: 'abandoned' },
      'end',
    ],
  ] as const)('%s → %s', (_, tokens, now, facts, expected) => {
    expect(renewalAction(tokens, now, facts, OPTIONS)).toBe(expected);
  });
});

describe('when keep-alive renews next (nextRenewalAt)', () => {
  it.each([
    ['an hour-long token: its window', hourToken, idle, HOUR - 60_000],
    ['after a failure: not before the retry interval', hourToken, { ...idle, failedAt: HOUR - 10_000 }, HOUR - 7_000],
    [
      'after a failure with Retry-After: not before the pause ends',
      hourToken,
      { ...idle, failedAt: HOUR - 10_000, retryAt: HOUR + 5_000 },
      HOUR + 5_000,
    ],
    [
      'refresh token lapsing first, with credentials',
      { ...hourToken, refreshExpiresAt: HOUR / 2 },
      { ...idle, credentials: true },
      HOUR / 2 - 60_000,
    ],
    ['refresh token lapsing first, no credentials', { ...hourToken, refreshExpiresAt: HOUR / 2 }, idle, HOUR - 60_000],
    ['nothing can renew it', hourToken, { ...idle, refreshable: false }, undefined],
    [
      'nothing here can, but another instance is presenting the refresh token',
      hourToken,
      { ...idle, refreshable: false, refreshingElsewhere: true },
      HOUR - 60_000,
    ],
  ] as const)('%s → %s', (_, tokens, facts, expected) => {
    expect(nextRenewalAt(tokens, facts, OPTIONS)).toBe(expected);
  });
});

describe('whether a rejection renews (rejectionRenews)', () => {
  it.each([
    ['no rejection renewed this session yet', Number.NEGATIVE_INFINITY, 0, true],
    ['a rejection renewed it 9,999 ms ago', 0, 9_999, false],
    ['a rejection renewed it 10 s ago', 0, 10_000, true],
  ] as const)('%s → %s', (_, renewedAt, now, expected) => {
    expect(rejectionRenews(hourToken, renewedAt, now, OPTIONS)).toBe(expected);
  });

  it('caps the back-off at a tenth of a short lifetime', () => {
    expect(rejectionRenews(twentySecond, 0, 1_999, OPTIONS)).toBe(false);
    expect(rejectionRenews(twentySecond, 0, 2_000, OPTIONS)).toBe(true);
  });
});

describe('state and learned lifetimes', () => {
  it.each([
    [HOUR - 60_001, 'active'],
    [HOUR - 60_000, 'expiring'],
    [HOUR - 2_000, 'expired'],
  ] as const)('at %s the status is %s', (now, expected) => {
    expect(statusOf(hourToken, now, OPTIONS)).toBe(expected);
  });

  it('learns the lifetime from a token rejected well before its planned expiry, and nothing from one rejected near it', () => {
    expect(learnedLifetime(hourToken, 5 * 60_000)).toBe(5 * 60_000);
    expect(learnedLifetime(hourToken, 0.9 * HOUR)).toBeUndefined();
    expect(learnedLifetime(hourToken, 0)).toBeUndefined();
  });

  it('learns nothing from a token rejected younger than 30 s: it was revoked, and its age is no lifetime', () => {
    expect(learnedLifetime(hourToken, 29_999)).toBeUndefined();
    expect(learnedLifetime(hourToken, 30_000)).toBe(30_000);
  });
});
