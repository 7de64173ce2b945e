import { AUTH_ERROR_MESSAGES, AuthError, type Session, sessionKeyOf, type TokenKeeper } from '@tokenkeeper/auth-core';
import type { AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';

/** tokenkeeper's settings on one axios request: `axios.get(url, { tokenKeeper: { sessionKey: user.id } })`. */
export interface TokenKeeperRequestConfig {
  /** Which session this request is made as (per-user installs). Read by the default `sessionKey` option. */
  sessionKey?: string;
  /** Send this request as it is: no token, no refresh, no retry. Default `false`. */
  skipAuth?: boolean;
  /**
   * `false`: hand an expiry signal back instead of refreshing and retrying. The interceptor sets
   * it on its own one retry, so a second rejection is never retried. Default `true`.
   */
  retry?: boolean;
}

declare module 'axios' {
  interface AxiosRequestConfig {
    /** tokenkeeper's settings for this request (see `installTokenKeeper`). */
    tokenKeeper?: TokenKeeperRequestConfig;
  }
}

/** Where a request's token comes from: one session, or a keeper and the key of each request. */
export type InstallOptions<Credentials = unknown> =
  | {
      /** Every request to the upstream is made as this session (a service account, a job). */
      session: Session<Credentials>;
    }
  | {
      keeper: TokenKeeper<Credentials>;
      /**
       * The session key of a request. Default: `config.tokenKeeper.sessionKey`. A request to the
       * upstream without a key fails with `NOT_LOGGED_IN` rather than going out without a token.
       */
      sessionKey?: (config: InternalAxiosRequestConfig) => string | undefined;
    };

/** What a request carried: the session and the token, so a rejection renews that very token. */
interface Sent {
  key: string;
  token: string;
}

const SENT = Symbol('tokenkeeper.sent');
type TrackedConfig = InternalAxiosRequestConfig & { [SENT]?: Sent };

const guards = new WeakSet<object>();

/**
 * Makes an axios instance send the session's token to the protocol's origin, and refresh and
 * retry once when the upstream answers with the protocol's expiry signal. Returns `uninstall()`,
 * which ejects both interceptors. One instance serves every user: pick the session per request
 * with `{ tokenKeeper: { sessionKey } }`, no `axios.create` per request.
 *
 * The keeper's own login and refresh calls go through `fetch`, never through axios, so they
 * cannot pass these interceptors and cannot loop.
 *
 * @example
 * const api = axios.create({ baseURL: keeper.protocol.baseUrl });
 * const uninstall = installTokenKeeper(api, { keeper });
 * const { data } = await api.get('/reports/call-data', { tokenKeeper: { sessionKey: user.id } });
 */
export function installTokenKeeper<Credentials>(instance: AxiosInstance, options: InstallOptions<Credentials>): () => void {
  const keeper = 'session' in options ? options.session.keeper : options.keeper;
  const fixedKey = 'session' in options ? options.session.key : undefined;
  const keyOf = 'keeper' in options && options.sessionKey ? options.sessionKey : defaultSessionKey;
  const { protocol } = keeper;
  const tokenHeaders = headerNamesOf(protocol);

  const forUpstream = (config: InternalAxiosRequestConfig): boolean => originOfRequest(config) === protocol.origin;

  const attachToken = async (config: TrackedConfig): Promise<InternalAxiosRequestConfig> => {
    delete config[SENT]; // a retry or a reused config: only what this request sends counts
    if (config.tokenKeeper?.skipAuth || !forUpstream(config)) return config;
    const key = fixedKey ?? sessionKeyOf(keyOf(config));
    if (key === undefined) throw new AuthError('NOT_LOGGED_IN', AUTH_ERROR_MESSAGES.NOT_LOGGED_IN);
    const token = await keeper.token(key, { signal: abortSignalOf(config) });
    const headers = new Headers();
    protocol.authorize(headers, token);
    for (const [name, value] of headers) config.headers.set(name, value);
    config[SENT] = { key, token };
    config.beforeRedirect = keepTokenHome(config.beforeRedirect, protocol.origin, tokenHeaders);
    return config;
  };

  /** The one retry after an expiry signal, or `undefined` when this answer is to be handed back. */
  const retryOnce = async (config: TrackedConfig | undefined, answer: AxiosResponse | undefined) => {
    const sent = config?.[SENT];
    if (!config || !answer || !sent || config.tokenKeeper?.retry === false) return undefined;
    if (!protocol.isExpirySignal({ status: answer.status, headers: toHeaders(answer.headers) })) return undefined;
    // undefined: the keeper hands this rejection back (a fresh token turned away is a permission answer).
    if ((await keeper.renewAfterRejection(sent.key, sent.token, { signal: abortSignalOf(config) })) === undefined) return undefined;
    return instance.request({ ...config, tokenKeeper: { ...config.tokenKeeper, retry: false } });
  };

  const requestId = instance.interceptors.request.use(attachToken);
  const responseId = instance.interceptors.response.use(
    async (response) => (isResponse(response) && (await retryOnce(response.config, response))) || response,
    async (error: unknown) => {
      const failed = error as { config?: TrackedConfig; response?: AxiosResponse } | null;
      const retried = typeof failed === 'object' && failed !== null ? await retryOnce(failed.config, failed.response) : undefined;
      if (retried === undefined) throw error;
      return retried;
    },
  );

  return function uninstall() {
    instance.interceptors.request.eject(requestId);
    instance.interceptors.response.eject(responseId);
  };
}

const ABSOLUTE_URL = /^[a-z][a-z\d+\-.]*:\/\//i;

/**
 * The origin a request goes to, as axios resolves it: an absolute `url` (unless
 * `allowAbsoluteUrls` is off), else `baseURL`. Only the origin matters here, so this skips
 * `instance.getUri()`, which merges the whole config again on every request.
 */
function originOfRequest(config: InternalAxiosRequestConfig): string | undefined {
  const url = config.url ?? '';
  const absolute = ABSOLUTE_URL.test(url) && config.allowAbsoluteUrls !== false ? url : config.baseURL;
  try {
    return absolute ? new URL(absolute).origin : undefined;
  } catch {
    return undefined; // no absolute URL: axios cannot send it either, and no token goes out
  }
}

function defaultSessionKey(config: InternalAxiosRequestConfig): string | undefined {
  return config.tokenKeeper?.sessionKey;
}

/** The header names `protocol.authorize` writes, found once at install. */
function headerNamesOf(protocol: Pick<TokenKeeper['protocol'], 'authorize'>): string[] {
  const probe = new Headers();
  protocol.authorize(probe, 'probe');
  return [...probe.keys()];
}

/**
 * Wraps the request's `beforeRedirect` (Node's http adapter) so the token headers are dropped
 * whenever a redirect leaves the protocol's origin, whatever header the protocol uses.
 */
function keepTokenHome(
  hook: InternalAxiosRequestConfig['beforeRedirect'],
  origin: string,
  tokenHeaders: readonly string[],
): InternalAxiosRequestConfig['beforeRedirect'] {
  if (hook && guards.has(hook)) return hook;
  const guard: NonNullable<InternalAxiosRequestConfig['beforeRedirect']> = (options, responseDetails, requestDetails) => {
    hook?.(options, responseDetails, requestDetails);
    if (originOf(options.href) === origin) return;
    const headers = options.headers as Record<string, unknown> | undefined;
    if (!headers) return;
    for (const name of Object.keys(headers)) {
      if (tokenHeaders.includes(name.toLowerCase())) delete headers[name];
    }
  };
  guards.add(guard);
  return guard;
}

function originOf(href: unknown): string | undefined {
  try {
    return new URL(String(href)).origin;
  } catch {
    return undefined;
  }
}

function isResponse(value: unknown): value is AxiosResponse {
  return typeof value === 'object' && value !== null && 'status' in value && 'headers' in value && 'config' in value;
}

function toHeaders(source: AxiosResponse['headers'] | undefined): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(source ?? {})) {
    if (value === undefined || value === null || typeof value === 'function') continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      try {
        headers.append(name, String(item));
      } catch {
        // a header the Fetch API refuses says nothing about token expiry
      }
    }
  }
  return headers;
}

function abortSignalOf(config: InternalAxiosRequestConfig): AbortSignal | undefined {
  return config.signal instanceof AbortSignal ? config.signal : undefined;
}
