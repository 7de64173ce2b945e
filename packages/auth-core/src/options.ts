import { type Clock, systemClock } from './clock.js';
import type { Protocol } from './protocols/protocol.js';
import { MemoryStore } from './store/memory.js';
import type { Lock, SessionStore } from './store/store.js';

/** Where the keeper finds credentials to log a session in again when renewal is refused. */
export type CredentialsProvider<Credentials> = (key: string) => Credentials | undefined | Promise<Credentials | undefined>;

/**
 * Options of a {@link TokenKeeper}. Only `protocol` is required; every default is in
 * {@link DEFAULTS} with the reason for it.
 */
export interface TokenKeeperOptions<Credentials> {
  /** The upstream: a preset (`sessionRenew`, `refreshToken`, `basicAuth`) or `defineProtocol(...)`. */
  protocol: Protocol<Credentials>;
  /** Where sessions live. Default: a {@link MemoryStore} with `maxSessions` entries. */
  store?: SessionStore;
  /** Makes renewals single-flight across processes (`RedisLock`). Default: none; in-process single flight is always on. */
  lock?: Lock;
  /** Default 10,000. Bounds the default store and the remembered credentials. */
  maxSessions?: number;
  /**
   * One identity (logins with the same credentials) holds at most this many sessions in this
   * keeper; its next login logs out its oldest, so one account logging in again and again (a
   * fresh cookie each time) cannot push everyone else's sessions out of `maxSessions`. Default 10.
   */
  maxSessionsPerIdentity?: number;
  /** Credentials for a re-login when renew/refresh is refused. Default: none (the session ends with `SESSION_EXPIRED`). */
  credentials?: CredentialsProvider<Credentials>;
  /** Keep each session's login credentials, AES-256-GCM-sealed in memory, for re-login. Default `false`. */
  rememberCredentials?: boolean;
  /** Start renewing this long before expiry; capped at a quarter of the token's lifetime. Default 60 s. */
  refreshWindowMs?: number;
  /** A token this close to expiry is treated as expired (a request waits for the renewal); capped at a twentieth of the token's lifetime. Default 2 s. */
  expiryMarginMs?: number;
  /** After a failed background renewal, wait this long before another. Default 3 s. */
  retryIntervalMs?: number;
  /**
   * After a rejection with the expiry signal renewed a session, further rejections within this
   * long (capped at a tenth of the token's lifetime) are handed back to the caller unchanged
   * instead of renewing again: an upstream that turns away a token it just issued is refusing
   * permission. Default 10 s.
   */
  rejectionBackoffMs?: number;
  /**
   * Other origins `session.fetch` may send requests to (never with the token), e.g.
   * `['https://cdn.example.com']`; `['*']` allows any. Requests and redirects to any other origin
   * are refused with `ORIGIN_NOT_ALLOWED` before anything is sent, so
   * `req.upstream.fetch(req.query.path)` cannot be made to reach `//169.254.169.254/…`.
   * Default: none, only the upstream's own origin.
   */
  allowedOrigins?: readonly string[];
  /**
   * Bound on each `session.fetch` try until the upstream's answer headers arrive, combined with
   * the caller's own signal; past it the call rejects with `TIMEOUT`. Default 30 s.
   *
   * With Node's own `fetch` (the default) the bound is kept in a dispatcher wrapped around the
   * one the request would use (`init.dispatcher`, or the global one an app sets with undici's
   * `setGlobalDispatcher`), which costs far less than a signal; any other `fetch` gets a signal.
   */
  requestTimeoutMs?: number;
  /** Timeout of each upstream login/refresh/logout call. Default 10 s. */
  timeoutMs?: number;
  /** Timeout of one whole renewal (lock wait, refresh, re-login) shared by its waiters. Default 30 s. */
  renewalTimeoutMs?: number;
  /** Upstream answers larger than this are refused as `UPSTREAM_MALFORMED`. Default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * Keep up to 200 characters of an upstream's 4xx/5xx body in `error.upstream.bodyPreview`, with
   * every secret of the call (credentials, tokens, request header values) replaced by
   * `[redacted]`, for debugging. It never appears in `toJSON()`. Default `false`: an upstream's
   * error page may quote the request, so no body is kept at all.
   */
  errorBodyPreview?: boolean;
  /** Renew sessions in the background before they expire. Default `true`. */
  keepAlive?: boolean;
  /** A user session unused this long stops being kept alive (service sessions never stop). Default 30 min. */
  idleMs?: number;
  /** At most this many keep-alive renewals run at once. Default 8. */
  keepAliveConcurrency?: number;
  /** Keep-alive renewals are spread over up to this long (capped at half the refresh window). Default 10 s. */
  keepAliveJitterMs?: number;
  /** How long a session whose tokens have lapsed is kept, so a returning user gets a re-login or `SESSION_EXPIRED` rather than `NOT_LOGGED_IN`. Default 1 h. */
  retainExpiredMs?: number;
  /** The `fetch` used for upstream calls and `session.fetch`. Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Time and timers. Default: the system clock. */
  clock?: Clock;
  /**
   * A pino- or console-style logger: debug lines for login, renewal, retry, expiry and logout,
   * warnings for failures. Lines carry a hash of the session key, never a key or a secret.
   * Default: none.
   */
  logger?: TokenKeeperLogger;
  /**
   * The secret that keys the `keyHash` in log lines (at least 32 characters). Give every instance
   * the same one to follow a session across them. Default: a random secret per process.
   */
  keyHashSecret?: string;
}

/** What the `logger` option needs: pino, bunyan, winston and `console` all fit. */
export interface TokenKeeperLogger {
  debug(...args: unknown[]): void;
  warn(...args: unknown[]): void;
}

/** The defaults, each with why. */
export const DEFAULTS = {
  /** Room for a few thousand active users; an evicted session needs a new login. */
  maxSessions: 10_000,
  /** A person's browsers and devices; far below any `maxSessions`. */
  maxSessionsPerIdentity: 10,
  /** One minute covers a slow refresh and a retry; a quarter of the lifetime keeps short tokens from refreshing constantly. */
  refreshWindowMs: 60_000,
  /** Covers the time between reading a token and the upstream checking it. */
  expiryMarginMs: 2_000,
  /** Keeps a failing upstream from being hammered by every request in the refresh window. */
  retryIntervalMs: 3_000,
  /** Fifty "forbidden" answers in a row cost one renewal, not fifty. */
  rejectionBackoffMs: 10_000,
  /** Long enough for a slow identity provider, short enough to answer a user. */
  timeoutMs: 10_000,
  /** An API that never answers must not hold a request (and its socket) forever. */
  requestTimeoutMs: 30_000,
  /** A lock wait, a refresh and a re-login. */
  renewalTimeoutMs: 30_000,
  /** Token answers are a few hundred bytes; anything near a megabyte is not one. */
  maxBodyBytes: 1024 * 1024,
  keepAlive: true,
  /** A user away half an hour lets the session lapse instead of renewing it for nobody. */
  idleMs: 30 * 60_000,
  /** Bounds the load keep-alive puts on the upstream after a stall. */
  keepAliveConcurrency: 8,
  /** Spreads renewals of sessions logged in together. */
  keepAliveJitterMs: 10_000,
  retainExpiredMs: 60 * 60_000,
} as const;

export type NormalizedOptions<Credentials> = Required<
  Omit<TokenKeeperOptions<Credentials>, 'lock' | 'credentials' | 'store' | 'logger' | 'allowedOrigins' | 'keyHashSecret'>
> & {
  /** The origins `session.fetch` may reach besides the upstream's; `'*'` any. */
  allowedOrigins: ReadonlySet<string> | '*';
  store: SessionStore;
  ownsStore: boolean;
  lock: Lock | undefined;
  credentials: CredentialsProvider<Credentials> | undefined;
  logger: TokenKeeperLogger | undefined;
  keyHashSecret: string | undefined;
};

function duration(options: Record<string, unknown>, name: keyof typeof DEFAULTS, allowZero = false, allowInfinity = false): number {
  const value = options[name] ?? DEFAULTS[name];
  const ok =
    typeof value === 'number' && !Number.isNaN(value) && (allowZero ? value >= 0 : value > 0) && (allowInfinity || Number.isFinite(value));
  if (!ok) throw new TypeError(`TokenKeeper: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(value)}`);
  return value as number;
}

/** Validates options once, naming the field at fault, and fills in defaults. */
export function normalizeOptions<Credentials>(options: TokenKeeperOptions<Credentials>): NormalizedOptions<Credentials> {
  if (typeof options !== 'object' || options === null) throw new TypeError('TokenKeeper: options must be an object');
  const protocol = options.protocol;
  if (!protocol || typeof protocol.login !== 'function' || typeof protocol.origin !== 'string') {
    throw new TypeError('TokenKeeper: protocol must be a preset or the result of defineProtocol()');
  }
  const raw = options as unknown as Record<string, unknown>;
  const maxSessions = duration(raw, 'maxSessions');
  if (!Number.isSafeInteger(maxSessions)) throw new TypeError('TokenKeeper: maxSessions must be an integer');
  const perIdentity = duration(raw, 'maxSessionsPerIdentity');
  if (!Number.isSafeInteger(perIdentity)) throw new TypeError('TokenKeeper: maxSessionsPerIdentity must be an integer');
  const concurrency = duration(raw, 'keepAliveConcurrency');
  if (!Number.isSafeInteger(concurrency)) throw new TypeError('TokenKeeper: keepAliveConcurrency must be an integer');
  if (options.credentials !== undefined && typeof options.credentials !== 'function') {
    throw new TypeError('TokenKeeper: credentials must be a function of the session key');
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('TokenKeeper: fetch must be a function');
  const clock = options.clock ?? systemClock;
  return {
    protocol,
    store: options.store ?? new MemoryStore({ maxSessions, clock }),
    ownsStore: options.store === undefined,
    lock: options.lock,
    maxSessions,
    maxSessionsPerIdentity: perIdentity,
    credentials: options.credentials,
    rememberCredentials: options.rememberCredentials ?? false,
    refreshWindowMs: duration(raw, 'refreshWindowMs', true),
    expiryMarginMs: duration(raw, 'expiryMarginMs', true),
    retryIntervalMs: duration(raw, 'retryIntervalMs', true),
    rejectionBackoffMs: duration(raw, 'rejectionBackoffMs', true),
    timeoutMs: duration(raw, 'timeoutMs'),
    requestTimeoutMs: duration(raw, 'requestTimeoutMs'),
    allowedOrigins: checkOrigins(options.allowedOrigins),
    renewalTimeoutMs: duration(raw, 'renewalTimeoutMs'),
    maxBodyBytes: duration(raw, 'maxBodyBytes'),
    keepAlive: options.keepAlive ?? DEFAULTS.keepAlive,
    errorBodyPreview: options.errorBodyPreview === true,
    idleMs: duration(raw, 'idleMs', false, true),
    keepAliveConcurrency: concurrency,
    keepAliveJitterMs: duration(raw, 'keepAliveJitterMs', true),
    retainExpiredMs: duration(raw, 'retainExpiredMs', true),
    fetch: fetchImpl,
    clock,
    logger: checkLogger(options.logger),
    keyHashSecret: checkSecret(options.keyHashSecret),
  };
}

function checkOrigins(origins: readonly string[] | undefined): ReadonlySet<string> | '*' {
  if (origins === undefined) return new Set();
  if (!Array.isArray(origins)) throw new TypeError('TokenKeeper: allowedOrigins must be an array of origins');
  if (origins.includes('*')) return '*';
  return new Set(
    origins.map((origin) => {
      const url = URL.canParse(origin) ? new URL(origin) : undefined;
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== origin.replace(/\/$/, '')) {
        throw new TypeError(`TokenKeeper: allowedOrigins must hold http(s) origins like 'https://cdn.example.com', got ${String(origin)}`);
      }
      return url.origin;
    }),
  );
}

function checkSecret(secret: string | undefined): string | undefined {
  if (secret !== undefined && (typeof secret !== 'string' || secret.length < 32)) {
    throw new TypeError('TokenKeeper: keyHashSecret must be a string of at least 32 characters');
  }
  return secret;
}

function checkLogger(logger: TokenKeeperLogger | undefined): TokenKeeperLogger | undefined {
  if (logger === undefined) return undefined;
  if (typeof logger?.debug !== 'function' || typeof logger.warn !== 'function') {
    throw new TypeError('TokenKeeper: logger must have debug() and warn() methods (pino and console do)');
  }
  return logger;
}
