/**
 * DPoP (RFC 9449) against oidc-provider: tokens bound to a per-session key, a proof on every
 * token-endpoint call and API request, the servers' nonces retried with, and a stolen token or a
 * replayed proof refused.
 */
import { AuthError, MemoryStore, TokenKeeper } from '@tokenkeeper/auth-core';
import { installTokenKeeper } from '@tokenkeeper/axios';
import { type OAuth2Credentials, oauth2 } from '@tokenkeeper/oauth2';
import { connect, SECRET, startProvider, type TestProvider } from '@tokenkeeper/oauth2/testing';
import { createManualClock, type ManualClock } from '@tokenkeeper/testing';
import axios from 'axios';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const LIFETIME_S = 60;
let provider: TestProvider & { replaysRefused?: number };
let clock: ManualClock;
const keepers: TokenKeeper<any>[] = [];
/** Every request the keeper sent, with its DPoP proof. */
let sent: { url: string; dpop: string | null; authorization: string | null }[];

beforeEach(async () => {
  provider = await startProvider({ accessTokenTtl: LIFETIME_S, dpop: true });
  clock = createManualClock();
  sent = [];
});
afterEach(async () => {
  await Promise.all(keepers.splice(0).map((keeper) => keeper.close()));
  await provider.close();
});

const recording: typeof fetch = async (input, init) => {
  const headers = new Headers(init?.headers);
  sent.push({ url: String(input), dpop: headers.get('dpop'), authorization: headers.get('authorization') });
  return fetch(input, init);
};

function setup(store = new MemoryStore()) {
  const protocol = oauth2(
    { issuer: provider.issuer },
    { baseUrl: provider.api, clientId: 'basic-client', clientSecret: SECRET, scope: 'openid offline_access', dpop: true },
  );
  const keeper = new TokenKeeper<OAuth2Credentials>({ protocol, clock, store, fetch: recording });
  keepers.push(keeper);
  return { protocol, keeper };
}

describe('DPoP on oidc-provider', () => {
  it('connects, gets a key-bound token, and calls the API with a proof (both servers’ nonces retried once)', async () => {
    const { protocol, keeper } = setup();
    const state = await connect(keeper, protocol, 'ada');

    const answer = await keeper.session('ada').fetch('/me');

    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ sub: 'ada', clientId: 'basic-client', bound: true });
    const apiCalls = sent.filter((request) => request.url.startsWith(provider.api));
    expect(apiCalls).toHaveLength(2); // the API's nonce, then the request with it
    for (const call of apiCalls) {
      expect(call.authorization).toMatch(/^DPoP /);
      expect(call.dpop).toMatch(/^ey[\w-]+\.ey[\w-]+\.[\w-]+$/);
    }
    // The provider wanted its nonce too: the code exchange went twice, the second time with it.
    expect(sent.filter((request) => request.url.endsWith('/token')).map((request) => request.dpop !== null)).toEqual([true, true]);
    expect(JSON.stringify(state)).not.toMatch(/proofKey|privateJwk|"d":/);
  });

  it('refreshes with the same key: the new token is bound and works; a refresh is one token-endpoint grant', async () => {
    const { protocol, keeper } = setup();
    await connect(keeper, protocol, 'ada');
    expect((await keeper.session('ada').fetch('/me')).status).toBe(200);

    await clock.advance(LIFETIME_S * 1000);
    const answer = await keeper.session('ada').fetch('/me');

    expect(answer.status).toBe(200);
    expect(provider.tokenCalls.refresh_token).toBe(1);
    expect(provider.revokedGrants).toBe(0);
    // Every proof is new: none was sent twice.
    const proofs = sent.map((request) => request.dpop).filter((proof) => proof !== null);
    expect(new Set(proofs).size).toBe(proofs.length);
  });

  it('a stolen DPoP-bound token is useless as a bearer token', async () => {
    const { protocol, keeper } = setup();
    await connect(keeper, protocol, 'ada');
    const token = await keeper.session('ada').token();

    const stolen = await fetch(`${provider.api}/me`, { headers: { authorization: `Bearer ${token}` } });

    expect(stolen.status).toBe(401);
  });

  it('a replayed proof is refused by the API', async () => {
    const { protocol, keeper } = setup();
    await connect(keeper, protocol, 'ada');
    expect((await keeper.session('ada').fetch('/me')).status).toBe(200);
    const accepted = sent.filter((request) => request.url.startsWith(provider.api)).at(-1)!;

    const replay = await fetch(accepted.url, { headers: { authorization: accepted.authorization!, dpop: accepted.dpop! } });

    expect(replay.status).toBe(401);
    expect(replay.headers.get('www-authenticate')).toBe('DPoP error="invalid_dpop_proof"');
    expect(provider.replaysRefused).toBe(1);
  });

  it('keeps the session key with the session: a keeper that reads the store later signs with it', async () => {
    const store = new MemoryStore();
    const first = setup(store);
    await connect(first.keeper, first.protocol, 'ada');
    const second = setup(store); // another instance, same store: no handle cached, the key comes from the store

    expect((await second.keeper.session('ada').fetch('/me')).status).toBe(200);
  });

  it('the axios interceptor refuses a DPoP protocol with a TypeError that says to use session.fetch', () => {
    const { keeper } = setup();
    expect(() => installTokenKeeper(axios.create(), { keeper })).toThrow(
      new TypeError('installTokenKeeper: protocol oauth2 signs each request itself (DPoP); call the upstream with session.fetch'),
    );
  });

  it('refuses a session whose DPoP key cannot be read, without sending anything', async () => {
    const store = new MemoryStore();
    const { protocol, keeper } = setup(store);
    await connect(keeper, protocol, 'ada');
    const record = (await store.get('ada'))!;
    await store.set('ada', { ...record, tokens: { ...record.tokens, proofKey: { broken: true } } }, null, 3_600_000);
    const before = sent.length;

    const error = await keeper
      .session('ada')
      .fetch('/me')
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('UPSTREAM_MALFORMED');
    expect((error as AuthError).message).toBe('the session DPoP key is unreadable: log in again');
    expect(sent.length).toBe(before);
  });
});
