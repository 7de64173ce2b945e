import axios, { type AxiosAdapter } from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOLS, setup } from '../../auth-core/test/harness.js';
import { installTokenKeeper } from '../src/index.js';

// The interceptor builds each token's headers once, and one dispatcher per adapter setting:
// neither may outlive the token, or the adapter, it was built for.

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe.each(PROTOCOLS)('the axios interceptor on the hot path ($name)', (protocol) => {
  it.each(['http', 'fetch'] as const)('sends the renewed token on the first request after a renewal (%s adapter)', async (adapter) => {
    const { upstream, keeper, clock } = await setup(protocol.name);
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    const api = axios.create({ baseURL: upstream.url, adapter });
    cleanups.push(installTokenKeeper(api, { session }));
    const before = await session.token();
    await api.get(protocol.resource);
    expect(upstream.requests.at(-1)!.authorization).toContain(before);

    await clock.advance(protocol.lifetimeMs - 30_000); // inside the refresh window: renewed in the background
    await api.get(protocol.resource);
    await keeper.settled();
    await api.get(protocol.resource);
    const after = await session.token();
    expect(after).not.toBe(before);
    expect(upstream.requests.at(-1)!.authorization).toContain(after);
    expect(upstream.requests.at(-1)!.authorization).not.toContain(before);
  });
});

describe('the axios interceptor with changing adapters', () => {
  it('sends each request through the adapter its own config names, with the token', async () => {
    const { upstream, keeper, protocol } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    const token = await session.token();
    const api = axios.create({ baseURL: upstream.url });
    cleanups.push(installTokenKeeper(api, { session }));
    const seen: string[] = [];
    const recording =
      (name: string): AxiosAdapter =>
      async (config) => {
        seen.push(`${name} ${config.headers.get('authorization')?.toString().endsWith(token) ? 'with' : 'without'} the token`);
        return { data: name, status: 200, statusText: 'OK', headers: {}, config };
      };
    const first = recording('first');
    const second = recording('second');
    const answers = [];
    for (const adapter of [first, second, first, undefined, ['fetch'], ['http']] as const) {
      answers.push((await api.get(protocol.resource, adapter === undefined ? {} : { adapter: adapter as never })).data);
    }
    expect(seen).toEqual(['first with the token', 'second with the token', 'first with the token']);
    expect(answers.slice(0, 3)).toEqual(['first', 'second', 'first']);
    expect(upstream.requests.slice(-3).map((request) => request.authorization?.endsWith(token))).toEqual([true, true, true]);
  });
});

describe('the copy of the config the token is sent with', () => {
  it('carries every field of the config to the adapter, symbol keys of other libraries included, and leaves the caller’s config without the token', async () => {
    const { upstream, keeper, protocol } = await setup('refreshToken');
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    const token = await session.token();
    const tracing = Symbol('another library’s span');
    const api = axios.create({ baseURL: upstream.url, timeout: 4_321 });
    api.interceptors.request.use((config) => Object.assign(config, { [tracing]: 'span-7' }));
    cleanups.push(installTokenKeeper(api, { session }));
    let sent: Record<PropertyKey, unknown> | undefined;
    const adapter: AxiosAdapter = async (config) => {
      sent = config as unknown as Record<PropertyKey, unknown>;
      return { data: 'ok', status: 200, statusText: 'OK', headers: {}, config };
    };
    const response = await api.get(protocol.resource, { adapter, params: { page: 2 }, tokenKeeper: { retry: false } });
    expect(sent).toMatchObject({ timeout: 4_321, params: { page: 2 }, method: 'get', url: protocol.resource });
    expect(sent![tracing]).toBe('span-7'); // toMatchObject reads string keys only
    expect(String((sent!.headers as { get(name: string): unknown }).get('authorization'))).toBe(`Bearer ${token}`);
    expect(response.config.headers.get('authorization')).toBeUndefined();
    expect((response.config as unknown as Record<PropertyKey, unknown>)[tracing]).toBe('span-7');
  });
});
