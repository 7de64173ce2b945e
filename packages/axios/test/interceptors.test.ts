import { inspect } from 'node:util';
import { AuthError, refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { startRecordingServer } from '@tokenkeeper/testing';
import axios, { type AxiosError, type AxiosInstance } from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOLS, type ProtocolCase, protocolCase, rejection, setup } from '../../auth-core/test/harness.js';
import { installTokenKeeper } from '../src/index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Logs users in by key, with a credentials provider so an expired seed-000 token can log in again. */
async function withShared(protocol: ProtocolCase, keeperOptions = {}) {
  const context = await setup(protocol.name, { credentials: (key: string) => protocol.credentials(key as 'ada'), ...keeperOptions });
  const api = axios.create({ baseURL: context.upstream.url });
  installTokenKeeper(api, { keeper: context.keeper });
  return { ...context, api };
}

function as(sessionKey: string) {
  return { tokenKeeper: { sessionKey } };
}

/** Upstream calls that issued or renewed tokens: refreshes, seed-000 renewals, and logins. */
function tokenIssues(upstream: Awaited<ReturnType<typeof setup>>['upstream']): number {
  return upstream.stats.renewals + upstream.stats.refreshes + upstream.stats.logins;
}

/** A refused re-login: the refresh token lapses (seed 000: the access token), and the provider's password is wrong. */
function lapsedSession(protocol: ProtocolCase) {
  const refreshLifetimeMs = 2 * protocol.lifetimeMs;
  return {
    upstreamOptions: protocol.name === 'sessionRenew' ? {} : { refreshTokenLifetimeMs: refreshLifetimeMs },
    lapseMs: (protocol.name === 'sessionRenew' ? protocol.lifetimeMs : refreshLifetimeMs) + 1_000,
  };
}

describe.each(PROTOCOLS)('installTokenKeeper with the $name preset', (protocol) => {
  it('keeps two users on one shared instance apart: each request carries its own user’s token', async () => {
    const { api, keeper, upstream } = await withShared(protocol);
    await keeper.session('ada').login(protocol.credentials('ada'));
    await keeper.session('grace').login(protocol.credentials('grace'));
    const users = ['ada', 'grace', 'grace', 'ada', 'ada', 'grace'];
    const answers = await Promise.all(users.map((user) => api.get('/whoami', as(user))));
    expect(answers.map((answer) => answer.data.userId)).toEqual([1, 2, 2, 1, 1, 2]);
    const adaToken = await keeper.session('ada').token();
    const graceToken = await keeper.session('grace').token();
    const sent = upstream.requests.filter((seen) => seen.path === '/whoami').map((seen) => seen.authorization ?? '');
    expect(sent.filter((header) => header.includes(adaToken))).toHaveLength(3);
    expect(sent.filter((header) => header.includes(graceToken))).toHaveLength(3);
  });

  it('makes a request with sessionKey: 7 as keeper.session(7), by the one key rule', async () => {
    const context = await setup(protocol.name);
    const api = axios.create({ baseURL: context.upstream.url });
    installTokenKeeper(api, { keeper: context.keeper });
    await context.keeper.session(7).login(protocol.credentials('grace'));
    expect((await api.get('/whoami', { tokenKeeper: { sessionKey: 7 } })).data).toEqual({ userId: 2 });
    expect((await api.get('/whoami', { tokenKeeper: { sessionKey: '7' } })).data).toEqual({ userId: 2 });
  });

  it('refreshes an expired token before sending, and the request still answers 200', async () => {
    const { api, keeper, upstream, clock } = await withShared(protocol);
    await keeper.session('ada').login(protocol.credentials('ada'));
    await clock.advance(protocol.lifetimeMs + 1_000);
    upstream.stats.reset();
    const answer = await api.get(protocol.resource, as('ada'));
    expect(answer.status).toBe(200);
    expect(tokenIssues(upstream)).toBe(1);
    expect(upstream.stats.rejected).toBe(0);
  });

  it('retries a request rejected with the expiry signal exactly once, with a new token', async () => {
    const { api, keeper, upstream } = await withShared(protocol);
    await keeper.session('ada').login(protocol.credentials('ada'));
    const before = await keeper.session('ada').token();
    upstream.faults.next('api', 'expired');
    const answer = await api.get(protocol.resource, as('ada'));
    expect(answer.status).toBe(200);
    expect(upstream.stats.apiCalls).toBe(2);
    expect(upstream.stats.rejected).toBe(1);
    expect(upstream.requests.at(-1)!.authorization).not.toContain(before);
  });

  it('hands a second rejection back as axios does, without a third try', async () => {
    const { api, keeper, upstream } = await withShared(protocol);
    await keeper.session('ada').login(protocol.credentials('ada'));
    upstream.faults.next('api', 'expired', { count: 2 });
    const error = (await rejection(() => api.get(protocol.resource, as('ada')))) as unknown as AxiosError;
    expect(axios.isAxiosError(error)).toBe(true);
    expect(error.response?.status).toBe(protocol.expirySignal);
    expect(upstream.stats.apiCalls).toBe(2);
  });

  it('surfaces a re-login refused with the stored credentials as the AuthError STORED_CREDENTIALS_REFUSED', async () => {
    const lapsed = lapsedSession(protocol);
    const context = await setup(protocol.name, { credentials: () => protocol.wrongCredentials }, lapsed.upstreamOptions);
    const api = axios.create({ baseURL: context.upstream.url });
    installTokenKeeper(api, { keeper: context.keeper });
    await context.keeper.session('ada').login(protocol.credentials('ada'));
    await context.clock.advance(lapsed.lapseMs);
    const error = await rejection(() => api.get(protocol.resource, as('ada')));
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: 'STORED_CREDENTIALS_REFUSED', status: 401 });
  });

  it('ends the session on logout: later requests fail with NOT_LOGGED_IN and send nothing', async () => {
    const { api, keeper, upstream } = await withShared(protocol);
    await keeper.session('ada').login(protocol.credentials('ada'));
    expect((await api.get('/whoami', as('ada'))).status).toBe(200);
    await keeper.session('ada').logout();
    upstream.stats.reset();
    const error = await rejection(() => api.get('/whoami', as('ada')));
    expect(error).toMatchObject({ code: 'NOT_LOGGED_IN', status: 401 });
    expect(upstream.stats.apiCalls).toBe(0);
  });

  it('answers 500 concurrent requests at expiry with exactly one upstream renewal', async () => {
    const { api, keeper, upstream, clock } = await withShared(protocol);
    await keeper.session('ada').login(protocol.credentials('ada'));
    await clock.advance(protocol.lifetimeMs + 1_000);
    upstream.stats.reset();
    const answers = await Promise.all(Array.from({ length: 500 }, () => api.get(protocol.resource, as('ada'))));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(500);
    expect(tokenIssues(upstream)).toBe(1);
    expect(upstream.stats.rejected).toBe(0);
  });
});

describe('where the token goes', () => {
  const teletracker = protocolCase('refreshToken');

  async function foreignServer() {
    const foreign = await startRecordingServer();
    cleanups.push(() => foreign.close());
    return foreign;
  }

  it('sends no token to another origin, even on the shared instance', async () => {
    const { api, keeper } = await withShared(teletracker);
    const foreign = await foreignServer();
    await keeper.session('ada').login(teletracker.credentials('ada'));
    expect((await api.get(`${foreign.url}/collect`, as('ada'))).status).toBe(200);
    expect(foreign.requests.map((request) => request.authorization)).toEqual([undefined]);
  });

  it('drops the token when the upstream redirects to another origin', async () => {
    const { api, keeper } = await withShared(teletracker);
    const foreign = await foreignServer();
    await keeper.session('ada').login(teletracker.credentials('ada'));
    const answer = await api.get(`/redirect?to=${encodeURIComponent(`${foreign.url}/landing`)}`, as('ada'));
    expect(answer.data).toEqual({ ok: true });
    expect(foreign.requests.map((request) => request.authorization)).toEqual([undefined]);
  });

  it('keeps the token on a redirect within the upstream’s origin', async () => {
    const { api, keeper, upstream } = await withShared(teletracker);
    await keeper.session('ada').login(teletracker.credentials('ada'));
    const answer = await api.get(`/redirect?to=${encodeURIComponent(`${upstream.url}/whoami`)}`, as('ada'));
    expect(answer.data).toEqual({ userId: 1 });
  });

  it('drops a custom token header on a redirect to another origin as well', async () => {
    const { upstream, clock } = await setup('refreshToken');
    const keeper = new TokenKeeper({
      protocol: refreshToken({ baseUrl: upstream.url, header: 'x-upstream-token' }),
      clock,
      keepAlive: false,
    });
    cleanups.push(() => keeper.close());
    const foreign = await foreignServer();
    const api = axios.create({ baseURL: upstream.url });
    installTokenKeeper(api, { keeper });
    await keeper.session('ada').login(teletracker.credentials('ada') as { username: string; password: string });
    await api.get(`/redirect?to=${encodeURIComponent(`${foreign.url}/landing`)}`, as('ada'));
    expect(upstream.requests.at(-1)!.headers['x-upstream-token']).toMatch(/^Bearer /);
    expect(foreign.requests).toHaveLength(1);
    expect(foreign.requests[0]!.headers['x-upstream-token']).toBeUndefined();
  });
});

describe('where the token goes, decided at dispatch', () => {
  const teletracker = protocolCase('refreshToken');

  async function foreignServer() {
    const foreign = await startRecordingServer();
    cleanups.push(() => foreign.close());
    return foreign;
  }

  /** A keeper whose protocol writes the token into `x-auth-token`, which fetch keeps across origins. */
  async function withCustomHeader() {
    const { upstream, clock } = await setup('refreshToken');
    const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: upstream.url, header: 'x-auth-token' }), clock, keepAlive: false });
    cleanups.push(() => keeper.close());
    await keeper.session('ada').login(teletracker.credentials('ada') as { username: string; password: string });
    return { upstream, keeper };
  }

  function redirect(from: string, to: string, status: number): string {
    return `${from}/redirect?status=${status}&to=${encodeURIComponent(to)}`;
  }

  it('sends no token when an interceptor registered earlier points the request at another origin', async () => {
    const { upstream, keeper } = await setup('refreshToken');
    await keeper.session('ada').login(teletracker.credentials('ada'));
    const foreign = await foreignServer();
    const api = axios.create({ baseURL: upstream.url });
    // Registered first, so axios runs it after tokenkeeper's interceptor.
    api.interceptors.request.use((config) => ({ ...config, baseURL: foreign.url, url: '/tenant/report' }));
    installTokenKeeper(api, { keeper });
    expect((await api.get('/whoami', as('ada'))).data).toEqual({ ok: true });
    expect(foreign.requests).toHaveLength(1);
    expect(foreign.requests[0]!.authorization).toBeUndefined();
    expect(upstream.requests.filter((seen) => seen.path === '/whoami')).toHaveLength(0);
  });

  it('sends the token when an interceptor registered earlier points a foreign request at the upstream', async () => {
    const { upstream, keeper } = await setup('refreshToken');
    await keeper.session('ada').login(teletracker.credentials('ada'));
    const api = axios.create({ baseURL: 'http://127.0.0.1:9/not-here' });
    api.interceptors.request.use((config) => ({ ...config, baseURL: upstream.url }));
    installTokenKeeper(api, { keeper });
    expect((await api.get('/whoami', as('ada'))).data).toEqual({ userId: 1 });
  });

  it.each([302, 307])('does not forward a custom token header across a %i with the fetch adapter', async (status) => {
    const { upstream, keeper } = await withCustomHeader();
    const foreign = await foreignServer();
    const api = axios.create({ baseURL: upstream.url, adapter: 'fetch' });
    installTokenKeeper(api, { keeper });
    const answer = await api.get(redirect('', `${foreign.url}/landing`, status), as('ada'));
    expect(answer.data).toEqual({ ok: true });
    expect(upstream.requests.at(-1)!.headers['x-auth-token']).toMatch(/^Bearer /);
    expect(foreign.requests).toHaveLength(1);
    expect(foreign.requests[0]!.headers['x-auth-token']).toBeUndefined();
  });

  it('keeps a custom token header on a 307 within the origin with the fetch adapter', async () => {
    const { upstream, keeper } = await withCustomHeader();
    const api = axios.create({ baseURL: upstream.url, adapter: 'fetch' });
    installTokenKeeper(api, { keeper });
    expect((await api.get(redirect('', `${upstream.url}/public`, 307), as('ada'))).data).toEqual({ public: true });
    const [first, second] = upstream.requests.slice(-2);
    expect(second!.path).toBe('/public');
    expect(first!.headers['x-auth-token']).toMatch(/^Bearer /);
    expect(second!.headers['x-auth-token']).toBe(first!.headers['x-auth-token']);
  });

  it('follows a POST’s 307 with its body and a 303 as a GET, keeping the token home (fetch adapter)', async () => {
    const { upstream, keeper } = await withCustomHeader();
    const api = axios.create({ baseURL: upstream.url, adapter: 'fetch' });
    installTokenKeeper(api, { keeper });
    await api.post(redirect('', `${upstream.url}/public`, 303), 'payload', as('ada'));
    expect(upstream.requests.at(-1)).toMatchObject({ method: 'GET', path: '/public' });
    expect(upstream.requests.at(-1)!.headers['content-type']).toBeUndefined();
    expect(upstream.requests.at(-1)!.headers['x-auth-token']).toMatch(/^Bearer /);
    await api.post(redirect('', `${upstream.url}/public`, 307), 'payload', { ...as('ada'), validateStatus: () => true });
    expect(upstream.requests.at(-1)).toMatchObject({ method: 'POST', path: '/public' });
    expect(upstream.requests.at(-1)!.headers['content-length']).toBe('7');
    expect(upstream.requests.at(-1)!.headers['x-auth-token']).toMatch(/^Bearer /);
  });

  it('hands a redirect back unfollowed with the fetch adapter when maxRedirects is 0', async () => {
    const { upstream, keeper } = await withCustomHeader();
    const foreign = await foreignServer();
    const api = axios.create({ baseURL: upstream.url, adapter: 'fetch', maxRedirects: 0, validateStatus: () => true });
    installTokenKeeper(api, { keeper });
    const answer = await api.get(redirect('', `${foreign.url}/landing`, 307), as('ada'));
    expect(answer.status).toBe(307);
    expect(foreign.requests).toHaveLength(0);
  });

  it('retries an expiry signal once with a new token through the fetch adapter as well', async () => {
    const { api, keeper, upstream } = await withShared(teletracker);
    api.defaults.adapter = 'fetch';
    await keeper.session('ada').login(teletracker.credentials('ada'));
    const before = await keeper.session('ada').token();
    upstream.faults.next('api', 'expired');
    expect((await api.get('/whoami', as('ada'))).data).toEqual({ userId: 1 });
    expect(upstream.stats.apiCalls).toBe(2);
    expect(upstream.requests.at(-1)!.authorization).not.toContain(before);
  });

  it.each(['http', 'fetch'] as const)(
    'never sends the token again once a redirect chain left the origin and came back (%s adapter)',
    async (adapter) => {
      const { upstream, keeper } = await withCustomHeader();
      const foreign = await foreignServer();
      const api = axios.create({ baseURL: upstream.url, adapter });
      installTokenKeeper(api, { keeper });
      const back = `${upstream.url}/public`;
      await api.get(redirect('', redirect(foreign.url, back, 307), 307), as('ada'));
      const home = upstream.requests.slice(-2);
      expect(home.map((seen) => seen.path)).toEqual([expect.stringContaining('/redirect'), '/public']);
      expect(home[0]!.headers['x-auth-token']).toMatch(/^Bearer /);
      expect(home[1]!.headers['x-auth-token']).toBeUndefined();
      expect(foreign.requests.map((seen) => seen.headers['x-auth-token'])).toEqual([undefined]);
    },
  );

  it.each(['http', 'fetch'] as const)(
    'drops Authorization too once a chain left the origin and came back (%s adapter)',
    async (adapter) => {
      const { api, keeper, upstream } = await withShared(teletracker);
      api.defaults.adapter = adapter;
      const foreign = await foreignServer();
      await keeper.session('ada').login(teletracker.credentials('ada'));
      const error = (await rejection(() =>
        api.get(redirect('', redirect(foreign.url, `${upstream.url}/whoami`, 307), 307), as('ada')),
      )) as unknown as AxiosError;
      expect(error.response?.status).toBe(401); // back home without a token
      expect(upstream.requests.at(-1)).toMatchObject({ path: '/whoami', authorization: undefined });
      expect(upstream.requests.at(-2)!.authorization).toMatch(/^Bearer /);
    },
  );
});

describe('errors keep no token', () => {
  const teletracker = protocolCase('refreshToken');

  it.each(['http', 'fetch'] as const)('leaves the token out of an AxiosError’s toJSON() and util.inspect (%s adapter)', async (adapter) => {
    const { api, keeper, upstream } = await withShared(teletracker);
    api.defaults.adapter = adapter;
    await keeper.session('ada').login(teletracker.credentials('ada'));
    const token = await keeper.session('ada').token();
    upstream.faults.next('api', 'status500');
    const error = (await rejection(() => api.get('/whoami', as('ada')))) as unknown as AxiosError;
    expect(axios.isAxiosError(error)).toBe(true);
    expect(error.response?.status).toBe(500);
    expect(upstream.requests.at(-1)!.authorization).toBe(`Bearer ${token}`);
    expect(JSON.stringify(error.toJSON())).not.toContain(token);
    expect(inspect(error, { depth: 6 })).not.toContain(token);
    expect(inspect(error.response, { depth: 6 })).not.toContain(token);
  });

  it.each(['http', 'fetch'] as const)('leaves the token out of a successful answer and its config (%s adapter)', async (adapter) => {
    const { api, keeper } = await withShared(teletracker);
    api.defaults.adapter = adapter;
    await keeper.session('ada').login(teletracker.credentials('ada'));
    const token = await keeper.session('ada').token();
    const answer = await api.get('/whoami', as('ada'));
    expect(answer.data).toEqual({ userId: 1 });
    expect(answer.request).toBeDefined(); // still there for code that reads it
    expect(inspect(answer, { depth: 6 })).not.toContain(token);
  });
});

describe('requests that never loop', () => {
  const teletracker = protocolCase('refreshToken');

  it('sends a skipAuth request without a token and hands its rejection back untried', async () => {
    const { api, keeper, upstream } = await withShared(teletracker);
    await keeper.session('ada').login(teletracker.credentials('ada'));
    const error = (await rejection(() =>
      api.get('/whoami', { tokenKeeper: { sessionKey: 'ada', skipAuth: true } }),
    )) as unknown as AxiosError;
    expect(error.response?.status).toBe(401);
    expect(upstream.requests.at(-1)!.authorization).toBeUndefined();
    expect(upstream.stats.apiCalls).toBe(1);
    expect(upstream.stats.refreshes).toBe(0);
  });

  it('hands an expiry signal back untried when the request says retry: false', async () => {
    const { api, keeper, upstream } = await withShared(teletracker);
    await keeper.session('ada').login(teletracker.credentials('ada'));
    upstream.faults.next('api', 'expired');
    const error = (await rejection(() =>
      api.get('/whoami', { tokenKeeper: { sessionKey: 'ada', retry: false } }),
    )) as unknown as AxiosError;
    expect(error.response?.status).toBe(401);
    expect(upstream.stats.apiCalls).toBe(1);
    expect(upstream.stats.refreshes).toBe(0);
  });

  it('retries once as well when validateStatus lets the expiry signal through as a response', async () => {
    const { api, keeper, upstream } = await withShared(teletracker);
    await keeper.session('ada').login(teletracker.credentials('ada'));
    upstream.faults.next('api', 'expired', { count: 2 });
    const answer = await api.get('/whoami', { ...as('ada'), validateStatus: () => true });
    expect(answer.status).toBe(401);
    expect(upstream.stats.apiCalls).toBe(2);
    expect(upstream.stats.refreshes).toBe(1);
  });

  it('refuses an upstream request without a session key as NOT_LOGGED_IN, sending nothing', async () => {
    const { api, upstream } = await withShared(teletracker);
    const error = await rejection(() => api.get('/whoami'));
    expect(error).toMatchObject({ code: 'NOT_LOGGED_IN', message: 'no session: log in first' });
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('sharing one instance', () => {
  it.each(PROTOCOLS)('never makes another user wait while one user’s renewal hangs ($name)', async (protocol) => {
    const { api, keeper, upstream } = await withShared(protocol, { timeoutMs: 60_000 });
    await keeper.session('ada').login(protocol.credentials('ada'));
    await keeper.session('grace').login(protocol.credentials('grace'));
    upstream.expireAccessToken(await keeper.session('ada').token());
    upstream.faults.next('refresh', 'hang');
    upstream.faults.next('login', 'hang');
    const stop = new AbortController();
    const adaRequest = api.get(protocol.resource, { ...as('ada'), signal: stop.signal });
    let adaSettled = false;
    adaRequest.then(
      () => (adaSettled = true),
      () => (adaSettled = true),
    );
    await expect.poll(() => upstream.stats.rejected).toBe(1); // ada's renewal is now hanging
    const graceAnswer = await api.get(protocol.resource, as('grace'));
    expect(graceAnswer.status).toBe(200);
    expect(adaSettled).toBe(false);
    stop.abort();
    // Aborted while it waits for the renewal: axios's own CanceledError, as for any aborted request.
    expect(axios.isCancel(await rejection(() => adaRequest))).toBe(true);
  });
});

describe('one service session', () => {
  it('makes every upstream request as that session, without a per-request key', async () => {
    const { upstream, keeper } = await setup('refreshToken');
    const service = keeper.session('nightly-export');
    await service.login(protocolCase('refreshToken').credentials('grace'), { service: true });
    const api = axios.create({ baseURL: upstream.url });
    installTokenKeeper(api, { session: service });
    upstream.faults.next('api', 'expired');
    expect((await api.get('/whoami')).data).toEqual({ userId: 2 });
    expect(upstream.stats.refreshes).toBe(1);
  });
});

describe('configs sent again, and two installs on one instance', () => {
  const teletracker = protocolCase('refreshToken');

  it('authorizes a config handed back and sent again once, and still retries it only once', async () => {
    const { api, keeper, upstream } = await withShared(teletracker);
    await keeper.session('ada').login(teletracker.credentials('ada'));
    upstream.faults.next('api', 'status500');
    const error = (await rejection(() => api.get('/whoami', as('ada')))) as unknown as AxiosError;
    upstream.stats.reset();
    upstream.faults.next('api', 'expired', { count: 3 });
    const again = (await rejection(() => api.request(error.config!))) as unknown as AxiosError;
    expect(again.response?.status).toBe(401);
    expect(upstream.stats.apiCalls).toBe(2);
    expect(upstream.stats.refreshes).toBe(1);
  });

  it('gives each of two keepers’ upstreams its own token through one instance', async () => {
    const first = await setup('refreshToken');
    const second = await setup('refreshToken');
    await first.keeper.session('ada').login(teletracker.credentials('ada'));
    await second.keeper.session('ada').login(teletracker.credentials('grace'));
    const api = axios.create();
    installTokenKeeper(api, { keeper: first.keeper });
    installTokenKeeper(api, { keeper: second.keeper });
    expect((await api.get(`${first.upstream.url}/whoami`, as('ada'))).data).toEqual({ userId: 1 });
    expect((await api.get(`${second.upstream.url}/whoami`, as('ada'))).data).toEqual({ userId: 2 });
  });
});

describe('options', () => {
  it('refuses options without a session or keeper with a TypeError naming them', () => {
    expect(() => installTokenKeeper(axios.create(), {} as never)).toThrow(
      new TypeError('installTokenKeeper: options.session or options.keeper must be given'),
    );
  });

  it('refuses a sessionKey that is not a function with a TypeError naming it', async () => {
    const { keeper } = await setup('refreshToken');
    expect(() => installTokenKeeper(axios.create(), { keeper, sessionKey: 'ada' as never })).toThrow(
      new TypeError('installTokenKeeper: options.sessionKey must be a function'),
    );
  });
});

describe('uninstall', () => {
  it('ejects its interceptor and leaves the instance’s own interceptors working', async () => {
    const { upstream, keeper } = await setup('refreshToken');
    await keeper.session('ada').login(protocolCase('refreshToken').credentials('ada'));
    const api: AxiosInstance = axios.create({ baseURL: upstream.url, validateStatus: () => true });
    api.interceptors.request.use((config) => {
      config.headers.set('x-app', 'mine');
      return config;
    });
    const activeInterceptors = () =>
      [api.interceptors.request.handlers, api.interceptors.response.handlers].map((list) => list!.filter(Boolean).length);
    const before = activeInterceptors();
    const uninstall = installTokenKeeper(api, { keeper });
    expect((await api.get('/whoami', as('ada'))).status).toBe(200);
    uninstall();
    expect(activeInterceptors()).toEqual(before);
    const answer = await api.get('/whoami', as('ada'));
    expect(answer.status).toBe(401);
    expect(upstream.requests.at(-1)).toMatchObject({ authorization: undefined, headers: { 'x-app': 'mine' } });
    expect(upstream.stats.refreshes).toBe(0);
  });
});
