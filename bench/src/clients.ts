/**
 * The axios clients that scenarios 3 and 4 compare, each logged in to seed 001's fake upstream
 * as ada: tokenkeeper's interceptor (`@tokenkeeper/axios`), and axios-auth-refresh 5.0.2 set up
 * as its README shows, in three settings (`AarSetting`).
 *
 * axios-auth-refresh leaves the refresh call to the app. Seed 001 rotates refresh tokens, so the
 * app keeps the token pair and writes the refresh call itself — the README's `refreshAuthLogic`
 * with seed 001's endpoint, using the plain `axios` (no interceptors) as the README does, marked
 * `skipAuthRefresh` as the README asks when `deduplicateRefresh` is off. Tokens go on requests
 * through the README's request interceptor, which reads the current token on every send (so a
 * retried or stalled request picks up the new one).
 *
 * What axios-auth-refresh 5.0.2 actually does (dist/index.esm.js): `deduplicateRefresh` exists
 * (default `true`) and `maxRetries` (default 3). While a refresh runs, one promise is shared by
 * every caller in both modes. With `true`, the instance is marked "paused" until the refresh and
 * the first retried request have finished: new requests wait for the refresh, but a request
 * already in flight whose expiry answer arrives meanwhile is not intercepted and fails to the
 * caller. With `false`, such answers join the running refresh; once any retried request has
 * finished the cache is cleared, and a later stale answer starts another refresh — which, if it
 * starts while another refresh is still running, presents the same rotating refresh token again.
 * The "expert" setting closes that door from the app's side: `refreshAuthLogic` returns at once
 * for a request that carried an older token (axios-auth-refresh then retries it, and the request
 * interceptor puts the current token on it).
 */
import type { Agent } from 'node:http';
import { type Clock, type RefreshTokenCredentials, refreshToken, systemClock, TokenKeeper } from '@tokenkeeper/auth-core';
import { installTokenKeeper } from '@tokenkeeper/axios';
import axios, { type AxiosInstance } from 'axios';
import { type AxiosAuthRefreshRequestConfig, createAuthRefresh } from 'axios-auth-refresh';
import { ADA } from './upstream.js';

/** Every request a benchmark sends is bounded. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface BenchClient {
  api: AxiosInstance;
  /** Expiry instants (epoch ms, this machine's clock) of every token this client was given. */
  expiries: number[];
  close(): Promise<void>;
}

export async function tokenkeeperClient(
  baseURL: string,
  httpAgent: Agent,
  clock: Clock = systemClock,
): Promise<BenchClient & { keeper: TokenKeeper<RefreshTokenCredentials> }> {
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: baseURL }), clock });
  const session = keeper.session('ada');
  const expiries: number[] = [];
  keeper.on('refresh', ({ expiresAt }) => expiries.push(expiresAt));
  const state = await session.login(ADA);
  if (state.expiresAt === undefined) throw new Error('tokenkeeper: login failed');
  expiries.push(state.expiresAt);
  const api = axios.create({ baseURL, httpAgent, timeout: REQUEST_TIMEOUT_MS });
  installTokenKeeper(api, { session });
  return { api, expiries, keeper, close: () => keeper.close() };
}

interface TokenAnswer {
  token: string;
  refreshToken: string;
  tokenLifetime: number;
}

/**
 * How axios-auth-refresh is set up: `deduplicateRefresh: true` (its default), `false` (what its
 * issue tracker advises against issue #307), or `expert`: `false` plus a `refreshAuthLogic` that
 * refreshes only when the failed request carried the current token, and otherwise just lets the
 * request be retried with the current one (tokenkeeper's rule, written by hand).
 */
export type AarSetting = 'default' | 'false' | 'expert';

/** The setting as the tables print it, so every figure says which setting produced it. */
export const AAR_SETTING: Record<AarSetting, string> = {
  default: 'deduplicateRefresh: true (default)',
  false: 'deduplicateRefresh: false',
  expert: 'expert (false + skip stale 401s)',
};

export async function axiosAuthRefreshClient(baseURL: string, httpAgent: Agent, setting: AarSetting): Promise<BenchClient> {
  const expiries: number[] = [];
  const obtain = async (path: string, body: object): Promise<TokenAnswer> => {
    const sentAt = Date.now();
    const { data } = await axios.post<TokenAnswer>(`${baseURL}${path}`, body, {
      timeout: REQUEST_TIMEOUT_MS,
      skipAuthRefresh: true,
    } as AxiosAuthRefreshRequestConfig);
    expiries.push(sentAt + data.tokenLifetime * 1000);
    return data;
  };
  let tokens = await obtain('/auth/login', ADA);
  const bearer = () => `Bearer ${tokens.token}`;

  const api = axios.create({ baseURL, httpAgent, timeout: REQUEST_TIMEOUT_MS });
  // The README's refreshAuthLogic: refresh, keep the new tokens, put the new one on the failed request.
  const refreshAuthLogic = async (failedRequest: { response: { config: { headers: Record<string, unknown> } } }) => {
    const { headers } = failedRequest.response.config;
    // The expert's check: a 401 for a token that is no longer the current one says nothing about
    // the current one, and refreshing again would spend the current refresh token for nothing.
    // Resolving without a refresh makes axios-auth-refresh retry the request, and the request
    // interceptor below puts the current token on it.
    if (setting === 'expert' && headers.Authorization !== bearer()) return;
    tokens = await obtain('/auth/refresh', { refresh_token: tokens.refreshToken });
    headers.Authorization = bearer();
  };
  // Seed 001 signals expiry with 401 or 403 (tokenkeeper's preset watches both too).
  // (axios-auth-refresh's types load axios's CommonJS declarations, a twin of the ESM ones.)
  createAuthRefresh(api as unknown as Parameters<typeof createAuthRefresh>[0], refreshAuthLogic, {
    statusCodes: [401, 403],
    deduplicateRefresh: setting === 'default',
  });
  // The README's request interceptor: "Obtain the fresh token each time the function is called".
  api.interceptors.request.use((request) => {
    request.headers.Authorization = bearer();
    return request;
  });
  return { api, expiries, close: async () => undefined };
}
