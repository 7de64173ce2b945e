import { afterEach } from 'vitest';
import { type FakeUpstream, type FakeUpstreamOptions, startFakeUpstream } from '../src/index.js';

/** Starts a fake upstream that is closed after the current test. */
export function useUpstreams(): (options: FakeUpstreamOptions) => Promise<FakeUpstream> {
  const open: FakeUpstream[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((upstream) => upstream.close()));
  });
  return async (options) => {
    const upstream = await startFakeUpstream(options);
    open.push(upstream);
    return upstream;
  };
}

/** Registers anything with close() for closing after the current test. */
export function useClosables(): <T extends { close(): Promise<void> }>(closable: Promise<T>) => Promise<T> {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((closable) => closable.close()));
  });
  return async (closable) => {
    const value = await closable;
    open.push(value);
    return value;
  };
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

export const ADA = { email: 'ada@example.test', username: 'ada', password: 'ada-password-1' };
export const GRACE = { email: 'grace@example.test', username: 'grace', password: 'grace-password-2' };

export async function sessionRenewLogin(upstream: FakeUpstream, user = ADA, selectedOrg?: number): Promise<string> {
  const res = await postJson(`${upstream.url}/user/authenticate`, { email: user.email, password: user.password, selectedOrg });
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

export interface RefreshTokenBody {
  success: boolean;
  guid: string;
  token: string;
  tokenExpiration: string;
  tokenLifetime: number;
  refreshToken: string;
  refreshTokenExpiration: string;
  accountId: number | null;
}

export async function refreshTokenLogin(upstream: FakeUpstream, user = ADA): Promise<RefreshTokenBody> {
  const res = await postJson(`${upstream.url}/auth/login`, { username: user.username, password: user.password });
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
  return (await res.json()) as RefreshTokenBody;
}

export interface SensuTokens {
  access_token: string;
  expires_at: number;
  refresh_token: string;
}

export async function basicAuthLogin(upstream: FakeUpstream, user = ADA): Promise<SensuTokens> {
  const res = await fetch(`${upstream.url}/auth`, { headers: { authorization: basic(user.username, user.password) } });
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
  return (await res.json()) as SensuTokens;
}

export function sensuRefresh(upstream: FakeUpstream, accessToken: string, refreshToken: string, path = '/auth/token'): Promise<Response> {
  return postJson(`${upstream.url}${path}`, { refresh_token: refreshToken }, bearer(accessToken));
}
