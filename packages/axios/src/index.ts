import { AUTH_ERROR_MESSAGES, AuthError, type Session, type SessionKey, sessionKeyOf, type TokenKeeper } from '@tokenkeeper/auth-core';
import axios, {
  type AxiosAdapter,
  AxiosHeaders,
  type AxiosInstance,
  type AxiosRequestConfig,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import { discard, followByHand, isSettledResponse, type Outcome, settle } from './redirects.js';

/** tokenkeeper's settings on one axios request: `axios.get(url, { tokenKeeper: { sessionKey: user.id } })`. */
export interface TokenKeeperRequestConfig {
  /** Which session this request is made as (per-user installs): a string, or a safe integer standing for its decimal string. Read by the default `sessionKey` option. */
  sessionKey?: SessionKey;
  /** Send this request as it is: no token, no refresh, no retry. Default `false`. */
  skipAuth?: boolean;
  /** `false`: hand an expiry signal back instead of refreshing and retrying. Default `true`. */
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
       * The session key of a request, read from its final config. Default:
       * `config.tokenKeeper.sessionKey`. A request to the upstream without a key fails with
       * `NOT_LOGGED_IN` rather than going out without a token.
       */
      sessionKey?: (config: InternalAxiosRequestConfig) => SessionKey | undefined;
    };

type AdapterSetting = AxiosRequestConfig['adapter'];

/**
 * Makes an axios instance send the session's token to the protocol's origin, and refresh and
 * retry once when the upstream answers with the protocol's expiry signal. Returns `uninstall()`.
 * One instance serves every user: pick the session per request with
 * `{ tokenKeeper: { sessionKey } }`, no `axios.create` per request.
 *
 * The token is attached at dispatch time, inside the request's adapter, from the final config:
 * interceptors that run later (those registered before this one) cannot send it elsewhere, and
 * errors and responses keep a config without it.
 *
 * @example
 * const api = axios.create({ baseURL: keeper.protocol.baseUrl });
 * const uninstall = installTokenKeeper(api, { keeper });
 * const { data } = await api.get('/reports/call-data', { tokenKeeper: { sessionKey: user.id } });
 */
export function installTokenKeeper<Credentials>(instance: AxiosInstance, options: InstallOptions<Credentials>): () => void {
  const keeper = 'session' in options ? options.session?.keeper : options?.keeper;
  if (typeof keeper?.authorizes !== 'function') throw new TypeError('installTokenKeeper: options.session or options.keeper must be given');
  const fixedKey = 'session' in options ? options.session.key : undefined;
  const keyOf = 'keeper' in options && options.sessionKey !== undefined ? options.sessionKey : defaultSessionKey;
  if (typeof keyOf !== 'function') throw new TypeError('installTokenKeeper: options.sessionKey must be a function');
  const { protocol } = keeper;
  if (protocol.send) {
    // Its authorization depends on each request (DPoP proofs): only the keeper's own fetch sends such requests.
    throw new TypeError(
      `installTokenKeeper: protocol ${protocol.name} signs each request itself (DPoP); call the upstream with session.fetch`,
    );
  }
  /** This install's wrappers, each with the adapter setting it wraps: a reused config is wrapped once. */
  const wrapped = new WeakMap<AxiosAdapter, AdapterSetting>();
  /**
   * The configs this install has authorized, so another layer of the same install passes them on.
   * A set beside them, not a symbol key on them: one key more on a copy of a config's thirty-odd
   * properties turns it into a slow dictionary object for every adapter that reads it.
   */
  const authorized = new WeakSet<InternalAxiosRequestConfig>();

  const httpAdapter = axios.getAdapter('http');
  /** The last token's headers: an install usually sends one session's token, so they are built once per token. */
  let lastAuthorization: { token: string; headers: Readonly<Record<string, string>> } | undefined;
  const authorizationFor = (token: string) => {
    if (lastAuthorization?.token !== token) lastAuthorization = { token, headers: keeper.authorizationFor(token) };
    return lastAuthorization.headers;
  };
  /** Sends `config` through `adapter` with `token` on every hop that has not left the origin. */
  const send = (adapter: AxiosAdapter, config: InternalAxiosRequestConfig, url: string, token: string): Promise<Outcome> => {
    const headers = authorizationFor(token);
    const authorize = (hop: InternalAxiosRequestConfig) => {
      const withToken = new AxiosHeaders(hop.headers).set(headers);
      const beforeRedirect = stripAfterLeaving(hop.beforeRedirect, keeper, protocol.header);
      const sent = copyOf(hop);
      sent.headers = withToken;
      sent.beforeRedirect = beforeRedirect;
      authorized.add(sent);
      return sent;
    };
    if (adapter !== httpAdapter && adapter === fetchAdapterFor(config)) {
      return followByHand(adapter, config, url, authorize, (hop) => keeper.authorizes(hop));
    }
    return settle(adapter(authorize(config)));
  };

  /**
   * One dispatcher per adapter setting, not per request. axios copies an adapter list (the
   * default `['xhr', 'http', 'fetch']`) into each config, so a list of names is known by its names.
   */
  const dispatchers: { setting: AdapterSetting; dispatch: AxiosAdapter }[] = [];
  const dispatcherFor = (setting: AdapterSetting): AxiosAdapter => {
    for (const known of dispatchers) if (sameSetting(known.setting, setting)) return known.dispatch;
    const dispatch = dispatchThrough(setting);
    if (dispatchers.length >= 16) dispatchers.shift(); // a new adapter function per request must not pile up
    dispatchers.push({ setting: Array.isArray(setting) ? [...setting] : setting, dispatch });
    return dispatch;
  };

  const dispatchThrough = (setting: AdapterSetting): AxiosAdapter => {
    const dispatch: AxiosAdapter = async (config) => {
      const adapter = axios.getAdapter(setting, config);
      const url = fullPathOf(config);
      if (config.tokenKeeper?.skipAuth || authorized.has(config) || !keeper.authorizes(url)) return adapter(config);
      const key = fixedKey ?? sessionKeyOf(keyOf(config));
      if (key === undefined) throw new AuthError('NOT_LOGGED_IN', AUTH_ERROR_MESSAGES.NOT_LOGGED_IN);
      const signal = config.signal instanceof AbortSignal ? config.signal : undefined;
      const token = await keeper.token(key, { signal });
      let outcome = await send(adapter, config, url, token);
      const answer = outcome.response;
      const seen = answer && config.tokenKeeper?.retry !== false ? new UpstreamAnswerOf(answer) : undefined;
      // The expiry check first (retryTokenFor makes it too): an answer that is none, nearly all, costs no await.
      if (answer && seen && protocol.isExpirySignal(seen)) {
        const retryToken = await keeper.retryTokenFor(key, token, seen, { signal });
        if (retryToken !== undefined) {
          discard(answer);
          outcome = await send(adapter, config, url, retryToken);
        }
      }
      return handBack(outcome, config);
    };
    wrapped.set(dispatch, setting);
    return dispatch;
  };

  const requestId = instance.interceptors.request.use(
    (config) => {
      const setting = typeof config.adapter === 'function' && wrapped.has(config.adapter) ? wrapped.get(config.adapter) : config.adapter;
      config.adapter = dispatcherFor(setting ?? instance.defaults.adapter);
      return config;
    },
    undefined,
    { synchronous: true },
  );

  return function uninstall() {
    instance.interceptors.request.eject(requestId);
    lastAuthorization = undefined;
  };
}

/**
 * `{ ...config }`, at a quarter of its cost: axios builds each request's config as a dictionary
 * object (its keys merged in at run time), and V8's spread copies those on a slow path.
 */
function copyOf(config: InternalAxiosRequestConfig): InternalAxiosRequestConfig {
  const copy: Record<PropertyKey, unknown> = {};
  const source = config as unknown as Record<PropertyKey, unknown>;
  for (const key of Object.keys(source)) copy[key] = source[key];
  for (const symbol of Object.getOwnPropertySymbols(source)) {
    if (Object.prototype.propertyIsEnumerable.call(source, symbol)) copy[symbol] = source[symbol];
  }
  return copy as unknown as InternalAxiosRequestConfig;
}

/** The same adapter, or lists of the same adapters (names or functions) in the same order. */
function sameSetting(known: AdapterSetting, setting: AdapterSetting): boolean {
  if (known === setting) return true;
  if (!Array.isArray(known) || !Array.isArray(setting) || known.length !== setting.length) return false;
  return known.every((item, index) => item === setting[index]);
}

function defaultSessionKey(config: InternalAxiosRequestConfig): SessionKey | undefined {
  return config.tokenKeeper?.sessionKey;
}

const ABSOLUTE_URL = /^([a-z][a-z\d+\-.]*:)?\/\//i;

/** The URL the adapter will send to, resolved as axios's `buildFullPath` does (params change no origin). */
function fullPathOf(config: InternalAxiosRequestConfig): string {
  const url = config.url ?? '';
  const { baseURL } = config;
  if (!baseURL || (ABSOLUTE_URL.test(url) && config.allowAbsoluteUrls !== false)) return url;
  if (!url) return baseURL;
  const base = baseURL.endsWith('/') ? baseURL.replace(/\/+$/, '') : baseURL;
  return `${base}/${url.startsWith('/') ? url.replace(/^\/+/, '') : url}`;
}

/** axios's `fetch` adapter for this config, which follows redirects by itself unless told not to. */
function fetchAdapterFor(config: InternalAxiosRequestConfig): AxiosAdapter | undefined {
  try {
    return axios.getAdapter('fetch', config);
  } catch {
    return undefined; // no fetch on this platform
  }
}

/**
 * Wraps `beforeRedirect` (Node's http adapter) so the token header is dropped on every hop once
 * one hop has left the origin, even when a later hop comes back (axios only compares each hop
 * with the one before it).
 */
function stripAfterLeaving(
  hook: InternalAxiosRequestConfig['beforeRedirect'],
  keeper: Pick<TokenKeeper, 'authorizes'>,
  header: string,
): InternalAxiosRequestConfig['beforeRedirect'] {
  let left = false;
  return (options, responseDetails, requestDetails) => {
    hook?.(options, responseDetails, requestDetails);
    left ||= !keeper.authorizes(String(options.href));
    const headers = options.headers as Record<string, unknown> | undefined;
    if (!left || !headers) return;
    for (const name of Object.keys(headers)) if (name.toLowerCase() === header) delete headers[name];
  };
}

/**
 * What core's expiry check reads; the headers are copied only if the protocol asks for them. A
 * class, so the getter lives on its prototype: an object literal with a getter costs a new
 * accessor and a slow object on every response.
 */
class UpstreamAnswerOf {
  readonly status: number;
  readonly #response: AxiosResponse;

  constructor(response: AxiosResponse) {
    this.status = response.status;
    this.#response = response;
  }

  get headers(): Headers {
    return toHeaders(this.#response.headers);
  }
}

/**
 * Resolves or rejects as the adapter did, with the caller's config (which never held the token)
 * in place of the one that was sent, and the sent request (its headers hold the token) kept out
 * of `toJSON()` and `util.inspect` on the error and the response alike.
 */
function handBack(outcome: Outcome, config: InternalAxiosRequestConfig): AxiosResponse {
  const { response, error } = outcome;
  if (response) {
    response.config = config;
    hide(response, 'request');
  }
  if (isSettledResponse(outcome)) return outcome.response;
  if (axios.isAxiosError(error)) {
    error.config = config;
    hide(error, 'request');
  }
  throw error;
}

function hide(target: object, property: string): void {
  if (!Object.hasOwn(target, property)) return;
  Object.defineProperty(target, property, { value: Reflect.get(target, property), enumerable: false, writable: true, configurable: true });
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
