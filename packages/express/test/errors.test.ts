import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { afterAll, describe, expect, it } from 'vitest';
import { tokenKeeper } from '../src/index.js';
import { PROTOCOLS, SECRET, startApp } from './support.js';

describe('tokenKeeperErrors()', () => {
  it('passes errors that are not AuthErrors on to Express, which answers 500', async () => {
    const { browser } = await startApp(PROTOCOLS[1]!);
    const answer = await browser().get('/boom');

    expect(answer.status).toBe(500);
    expect(answer.body).toMatch(/^<!DOCTYPE html>/); // Express's own error page, not { error, message }
  });
});

describe('tokenKeeper() options', () => {
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: 'http://127.0.0.1:9' }), keepAlive: false });
  afterAll(() => keeper.close());

  it('needs a cookie secret when there is no sessionKey function', () => {
    expect(() => tokenKeeper({ keeper })).toThrow(
      new TypeError('tokenKeeper: cookie.secret is required when there is no sessionKey function'),
    );
  });

  it('needs a TokenKeeper', () => {
    expect(() => tokenKeeper({ keeper: {} as TokenKeeper, cookie: { secret: SECRET } })).toThrow(/keeper must be a TokenKeeper/);
  });

  it('needs sessionKey to be a function when given', () => {
    expect(() => tokenKeeper({ keeper, sessionKey: 'user' as never })).toThrow(/sessionKey must be a function/);
  });

  it('refuses both a sessionKey function and cookie options, since only one can hold the key', () => {
    expect(() => tokenKeeper({ keeper, sessionKey: () => 'user-1', cookie: { secret: SECRET } })).toThrow(
      /either sessionKey or cookie, not both/,
    );
  });

  it('refuses a cookie secret shorter than 32 characters', () => {
    expect(() => tokenKeeper({ keeper, cookie: { secret: 'short' } })).toThrow(/secret must be a string .* of at least 32 characters/);
  });
});
