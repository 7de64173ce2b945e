import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { isThenable, untilAborted } from './abort.js';
import { AuthorizationHeaders, AuthorizedSender, NO_INIT, prepareRequest, UrlResolver } from './authorized-fetch.js';
import { ignore, isTombstone, KeeperContext } from './context.js';
import { AuthError, stateError } from './errors.js';
import type { TokenKeeperEventName, TokenKeeperEvents } from './events.js';
import { KeepAlive } from './keep-alive.js';
import { attachLogger } from './logging.js';
import { normalizeOptions, type TokenKeeperOptions } from './options.js';
import { freshUntil, learnedLifetime, rejectionRenews, requestAction, statusOf } from './policy.js';
import type { Protocol, UpstreamAnswer } from './protocols/protocol.js';
import { Renewals } from './renewal.js';
import { RequestBound } from './request-bound.js';
import { Session } from './session.js';
import { checkSessionKey, type SessionKey } from './session-key.js';
import type { SessionRecord, SessionStore, StoreReadOptions } from './store/store.js';
import type { TokenSet } from './tokens.js';

export interface LoginOptions {
  /** Stops this caller's wait; the upstream login (shared with concurrent logins of the same credentials) goes on, bounded by `timeoutMs`. */
  signal?: AbortSignal;
  /** A service session is kept alive forever; a user session until `idleMs` without use. Default `false`. */
  service?: boolean;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** What `session.state()` tells: times and status, never tokens. */
export interface SessionState {
  /**
   * `none`: not logged in (or logged out); `expiring`: inside the refresh window; `expired`: needs
   * a renewal before use; `ended`: nothing could renew it, and calls get `SESSION_EXPIRED` until
   * the next login.
   */
  status: 'none' | 'active' | 'expiring' | 'expired' | 'ended';
  expiresAt?: number;
  refreshExpiresAt?: number | undefined;
  version?: number;
  service?: boolean;
  /** What the protocol learned about the signed-in user (an OpenID ID token's claims); never a token. */
  claims?: Readonly<Record<string, unknown>>;
}

export interface KeeperStats {
  /** Sessions this keeper has logged in or served lately (bounded by `maxSessions`). */
  sessions: number;
  /** Sessions with a keep-alive renewal planned. */
  keepAlivePlanned: number;
  /** Keep-alive renewals running now. */
  keepAliveRunning: number;
  /** Renewals running now (any trigger). */
  renewing: number;
}

/**
 * Keeps sessions against one upstream alive: logs in, stores tokens, renews before expiry,
 * refreshes and retries once on the expiry signal, and never runs two renewals of one session
 * at once. Adapters only ever talk to this class (through {@link Session}).
 *
 * What a request does is the policy's (`policy.ts`): fresh → use the token; in the refresh
 * window → use it while one background renewal runs; expired → wait for the renewal; nothing
 * can renew it → the session has ended (`SESSION_EXPIRED`, for every call until a new login).
 *
 * @example
 * const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: 'https://api.example' }) });
 * const session = keeper.session('user-42');
 * await session.login({ username: 'ada', password });
 * const response = await session.fetch('/reports/call-data');
 */
export class TokenKeeper<Credentials = unknown> {
  readonly protocol: Protocol<Credentials>;
  readonly #context: KeeperContext<Credentials>;
  readonly #renewals: Renewals<Credentials>;
  readonly #keepAlive: KeepAlive<Credentials>;
  /** What `session.fetch` builds once instead of per request: resolved URLs, and each token's headers. */
  readonly #urls: UrlResolver;
  readonly #authorization: AuthorizationHeaders;
  /** Sends each try, bounded by `requestTimeoutMs`, with the token only where it may go. */
  readonly #sender: AuthorizedSender;
  /** The protocol's origin and a slash: a URL that starts with it is on the origin without a parse. */
  readonly #originSlash: string;

  constructor(options: TokenKeeperOptions<Credentials>) {
    const normalized = normalizeOptions(options);
    this.protocol = normalized.protocol;
    this.#originSlash = `${this.protocol.origin}/`;
    this.#urls = new UrlResolver(this.protocol.baseUrl);
    this.#authorization = new AuthorizationHeaders(this.protocol);
    const bound = new RequestBound(normalized.requestTimeoutMs, normalized.fetch, this.protocol.send !== undefined);
    this.#sender = new AuthorizedSender(normalized.fetch, this.protocol, bound, this.#allows);
    this.#context = new KeeperContext(normalized, (key) => this.#keepAlive.cancel(key));
    this.#identities = new LRUCache({ max: normalized.maxSessions });
    this.#keepAlive = new KeepAlive(this.#context, () => this.#renewals);
    this.#renewals = new Renewals(this.#context, (key, record) => this.#keepAlive.plan(key, record));
    if (normalized.logger) attachLogger(this, normalized.logger, normalized.keyHashSecret);
  }

  /** A cheap handle bound to one session key ({@link SessionKey}: `7` and `'7'` are one session); creating it does no I/O. */
  session(key: SessionKey): Session<Credentials> {
    return new Session(this, checkSessionKey(key));
  }

  /** Subscribes to `login`, `refresh`, `retry`, `expired`, `logout` or `error`; returns the unsubscribe function. */
  on<Name extends TokenKeeperEventName>(name: Name, listener: (event: TokenKeeperEvents[Name]) => void): () => void {
    return this.#context.events.on(name, listener);
  }

  off<Name extends TokenKeeperEventName>(name: Name, listener: (event: TokenKeeperEvents[Name]) => void): void {
    this.#context.events.off(name, listener);
  }

  // ── requests ────────────────────────────────────────────────────────────────────────

  /** The one place that says what a request does with the session it found: the policy's answer. */
  #ready(key: string, record: SessionRecord | undefined, signal?: AbortSignal | null): SessionRecord | Promise<SessionRecord> {
    const context = this.#context;
    if (!record || isTombstone(record)) throw context.noSession(key);
    const now = context.now();
    const slot = context.slots.get(key, now);
    slot.usedAt = now;
    if (slot.idle) this.#keepAlive.plan(key, record);
    if (slot.loggingOut > 0) throw stateError('NOT_LOGGED_IN');
    if (now < freshUntil(record.tokens, context.options)) return record; // the common case, without gathering facts
    switch (requestAction(record.tokens, now, context.factsOf(key, slot, record, now), context.options)) {
      case 'use':
        return record;
      case 'use-and-renew':
        this.#renewals.renew(key, record, 'proactive').catch(ignore);
        return record;
      case 'wait':
        return this.#renewals.renew(key, record, 'expired', signal);
      case 'ended':
        return context.end(key, record, 'the token expired and nothing can renew it');
      case 'backoff':
        throw pausedError(slot.retryAt - now);
    }
  }

  /**
   * The access token to send now, renewing first only if it has expired. On a fresh token this
   * is a store lookup and a comparison.
   */
  token(sessionKey: SessionKey, options?: CallOptions): Promise<string> {
    try {
      const key = this.#checkOpen(sessionKey);
      const ready = this.#currentRecord(key, options?.signal);
      return isThenable(ready) ? ready.then(accessTokenOf) : Promise.resolve(ready.tokens.accessToken);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The session's record, ready to send: answered synchronously when the store answers so (the
   * memory store does) and no renewal must be waited for, so the hot path makes no promises.
   */
  #currentRecord(key: string, signal?: AbortSignal | null): SessionRecord | Promise<SessionRecord> {
    let found: ReturnType<SessionStore['get']>;
    try {
      found = this.#context.options.store.get(key, CACHED_READ);
    } catch (error) {
      throw storeFailed(error);
    }
    if (!isThenable(found)) return this.#ready(key, found, signal);
    return untilAborted(
      found.then(undefined, (error: unknown) => Promise.reject(storeFailed(error))),
      signal,
    ).then((record) => this.#ready(key, record, signal));
  }

  /**
   * `fetch` with the session's token. Relative URLs resolve against the protocol's base URL; a
   * token goes only to the protocol's origin (redirects elsewhere lose it). An answer with the
   * protocol's expiry signal triggers one renewal — only if the rejected token is still the
   * stored one — and exactly one retry; a second rejection is returned as it is. A call that
   * cannot reach the upstream rejects with `UPSTREAM_UNAVAILABLE`.
   */
  fetch(sessionKey: SessionKey, input: string | URL | Request, init?: RequestInit): Promise<Response> {
    // Not async itself: an async function that returns another's promise costs two more turns.
    try {
      const key = this.#checkOpen(sessionKey);
      // The common call, a path with no init: no prepared request.
      if (init === undefined && typeof input === 'string') {
        const { href, origin } = this.#urls.resolve(input);
        if (origin === this.protocol.origin) return this.#fetchOnOrigin(key, href, NO_INIT, NO_INIT);
      }
      const { href, origin, first, retry } = prepareRequest(input, init, this.#urls);
      if (origin === this.protocol.origin) return this.#fetchOnOrigin(key, href, first, retry);
      if (!this.#allows(origin)) throw originRefused(origin);
      return this.#sender.send(href, first, undefined, undefined);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * {@link fetch} of `href` on the protocol's origin: the first try's steps (see
   * {@link AuthorizedSender}) in this one async frame, then one retry on the expiry signal.
   */
  async #fetchOnOrigin(key: string, href: string, first: RequestInit, retry: RequestInit): Promise<Response> {
    const current = this.#currentRecord(key, first.signal);
    const record = isThenable(current) ? await current : current;
    const tokens = record.tokens;
    let response: Response;
    if (this.protocol.send) {
      response = await this.#send(href, first, tokens);
    } else {
      const sender = this.#sender;
      const authorization = this.#authorization.of(tokens);
      const headers = sender.headers(first, authorization);
      const bound = sender.start(first);
      try {
        response = await sender.first(href, first, headers, bound);
      } catch (error) {
        throw sender.failed(error, bound);
      }
      if (!sender.ends(response, first, bound)) response = await sender.follow(response, href, first, tokens, authorization, bound);
    }
    if (!this.protocol.isExpirySignal(response)) return response;
    return this.#retryOnce(key, href, retry, tokens, response, first.signal);
  }

  /**
   * After the expiry signal to a request sent with `tokens`: one renewal (only if the rejected
   * token is still the stored one, and waited for under the first try's `signal`), and one retry
   * with `retry`; the rejection as it is when nothing could be renewed.
   */
  async #retryOnce(
    key: string,
    href: string,
    retry: RequestInit,
    tokens: TokenSet,
    rejected: Response,
    signal: AbortSignal | null | undefined,
  ): Promise<Response> {
    const rejectedAt = this.#context.now();
    const renewed = await this.#afterRejection(key, tokens.accessToken, signal);
    if (!renewed) return rejected;
    await rejected.body?.cancel();
    const second = await this.#send(href, retry, renewed.tokens);
    if (second.ok) this.#learnFrom(key, tokens, rejectedAt, renewed);
    return second;
  }

  /** One try: redirects followed by hand (token only on the origin, only until a hop leaves it), bounded by `requestTimeoutMs`. */
  #send(url: string, init: RequestInit, tokens: TokenSet | undefined): Promise<Response> {
    const authorization = tokens && !this.protocol.send ? this.#authorization.of(tokens) : undefined;
    return this.#sender.send(url, init, tokens, authorization);
  }

  /**
   * The headers the protocol puts on a request for `accessToken` (`Authorization: Bearer …`),
   * for adapters that send requests themselves; build them once per token, not per request.
   * Never log them.
   */
  authorizationFor(accessToken: string): Readonly<Record<string, string>> {
    return this.#authorization.for(accessToken);
  }

  readonly #allows = (origin: string): boolean => {
    const allowed = this.#context.options.allowedOrigins;
    return allowed === '*' || allowed.has(origin);
  };

  /**
   * Whether a request to `url` gets this keeper's token: only the protocol's own origin does. For
   * adapters that send requests themselves; decide on the final, fully resolved URL.
   */
  authorizes(url: string | URL): boolean {
    // A URL that starts with the origin and a slash has that origin: no parse needed (the common case).
    if (typeof url === 'string' && url.startsWith(this.#originSlash)) return true;
    try {
      return new URL(url).origin === this.protocol.origin;
    } catch {
      return false;
    }
  }

  /**
   * What an adapter that sends requests itself does after an upstream answer to a request sent
   * with `sentToken`: resolves the token to retry with once (the answer is the expiry signal and
   * the session was renewed, or someone renewed it meanwhile), or `undefined` to hand the answer
   * back as it is (not the expiry signal, or within `rejectionBackoffMs` of the last such renewal).
   * A retried request must not be retried again.
   */
  async retryTokenFor(
    sessionKey: SessionKey,
    sentToken: string,
    answer: UpstreamAnswer,
    options?: CallOptions,
  ): Promise<string | undefined> {
    if (!this.protocol.isExpirySignal(answer)) return undefined; // an answer in flight at close() stays an answer
    const key = this.#checkOpen(sessionKey);
    return (await this.#afterRejection(key, sentToken, options?.signal))?.tokens.accessToken;
  }

  /**
   * The token to retry with after the upstream rejected `rejectedToken` with the expiry signal:
   * renews only if that token is still the stored one (else someone already did), single flight.
   * Resolves `undefined` when the rejection should be handed back unchanged (see
   * `rejectionBackoffMs`). For adapters that send requests themselves (the axios interceptor).
   */
  async renewAfterRejection(sessionKey: SessionKey, rejectedToken: string, options?: CallOptions): Promise<string | undefined> {
    const key = this.#checkOpen(sessionKey);
    return (await this.#afterRejection(key, rejectedToken, options?.signal))?.tokens.accessToken;
  }

  async #afterRejection(key: string, rejectedToken: string, signal?: AbortSignal | null): Promise<SessionRecord | undefined> {
    const context = this.#context;
    const current = await context.read(key, signal);
    if (!current) throw context.noSession(key);
    const event = { key, protocol: this.protocol.name, renewed: false };
    if (current.tokens.accessToken !== rejectedToken) {
      // Someone renewed meanwhile: retry with their token.
      const ready = await this.#ready(key, current, signal);
      context.emit('retry', event);
      return ready;
    }
    const now = context.now();
    const slot = context.slots.get(key, now);
    const renewedAt = current.version > slot.rejectionRenewedVersion ? slot.rejectionRenewedAt : Number.NEGATIVE_INFINITY;
    if (!rejectionRenews(current.tokens, renewedAt, now, context.options)) return undefined;
    slot.rejectionRenewedAt = now;
    slot.rejectionRenewedVersion = current.version;
    const renewed = await this.#renewals.renew(key, current, 'rejected', signal);
    event.renewed = true;
    context.emit('retry', event);
    return renewed;
  }

  /**
   * A token rejected well before its planned expiry, and replaced by one the upstream took, shows
   * the real lifetime: every token after it is planned with it, the one just issued included.
   */
  #learnFrom(key: string, rejected: TokenSet, rejectedAt: number, renewed: SessionRecord): void {
    const context = this.#context;
    const lifetime = learnedLifetime(rejected, rejectedAt);
    if (lifetime === undefined) return;
    context.learnedLifetimeMs = lifetime;
    const tokens = context.accept(renewed.tokens, 'refresh');
    if (tokens.expiresAt >= renewed.tokens.expiresAt) return;
    const record: SessionRecord = { ...renewed, tokens, version: renewed.version + 1 };
    context.write(key, record, renewed).then((written) => written && this.#keepAlive.plan(key, record), ignore);
  }

  // ── login, logout, state ───────────────────────────────────────────────────────────

  /**
   * Logs in and stores the session under `key`, replacing any session there. A logout of `key`
   * that begins while the upstream answers wins: the new upstream session is logged out again and
   * the login rejects with `NOT_LOGGED_IN`.
   */
  async login(sessionKey: SessionKey, credentials: Credentials, options: LoginOptions = {}): Promise<SessionState> {
    const key = this.#checkOpen(sessionKey);
    const context = this.#context;
    const checked = this.protocol.checkCredentials(credentials);
    context.vault?.check(checked);
    // Logins of one key with the same credentials share one upstream login: a hundred clicks
    // make one upstream session, not ninety-nine orphans.
    const identity = createHash('sha256').update(JSON.stringify(checked)).digest('base64url');
    const fingerprint = `${options.service === true}:${identity}`;
    const slot = context.slots.get(key, context.now());
    let running = slot.login;
    if (running?.fingerprint !== fingerprint) {
      const promise = this.#logIn(key, checked, options.service === true);
      promise.then(() => this.#holdFor(identity, key), ignore);
      running = { fingerprint, promise };
      slot.login = running;
      const settled = () => {
        if (slot.login?.promise === promise) slot.login = undefined;
      };
      promise.then(settled, settled);
    }
    return this.#stateOf(await untilAborted(running.promise, options.signal));
  }

  /** The keys each identity holds sessions under, oldest login first (bounded like the sessions). */
  readonly #identities: LRUCache<string, string[]>;

  /** Notes that `identity` holds `key`; past `maxSessionsPerIdentity`, its oldest session is logged out. */
  #holdFor(identity: string, key: string): void {
    const keys = (this.#identities.get(identity) ?? []).filter((held) => held !== key);
    keys.push(key);
    while (keys.length > this.#context.options.maxSessionsPerIdentity) {
      const oldest = keys.shift()!;
      if (!this.#context.closed) this.logout(oldest).catch(ignore);
    }
    this.#identities.set(identity, keys);
  }

  async #logIn(key: string, checked: Credentials, service: boolean): Promise<SessionRecord> {
    const context = this.#context;
    const started = context.now();
    const startedAt = context.logoutSequence;
    // What the store held before: a tombstone found at the end that was not there now is a logout that won.
    const before = context.options.ownsStore ? undefined : await context.readRaw(key).catch(() => undefined);
    let tokens: TokenSet;
    try {
      // Shared by every caller: bounded by timeoutMs, not by one caller's signal.
      tokens = context.accept(await this.protocol.login(checked, context.client()), 'login');
    } catch (error) {
      throw context.failed(key, 'login', error);
    }
    const slot = context.slots.get(key, context.now());
    // A logout that began meanwhile wins: here (the slot), or in another instance (its tombstone).
    const stored =
      slot.loggedOutAt > startedAt || context.closed || context.options.ownsStore
        ? undefined
        : await context.readRaw(key).catch(() => undefined);
    const loggedOutElsewhere = stored !== undefined && isTombstone(stored) && stored.tokens.accessToken !== before?.tokens.accessToken;
    if (slot.loggedOutAt > startedAt || context.closed || loggedOutElsewhere) {
      this.protocol.logout(tokens, context.client()).catch(ignore);
      throw context.closed ? stateError('KEEPER_CLOSED') : stateError('NOT_LOGGED_IN');
    }
    const record: SessionRecord = { tokens, version: 1, loginId: randomBytes(9).toString('base64url'), service };
    await context.write(key, record, null);
    context.vault?.put(key, checked);
    Object.assign(slot, {
      usedAt: context.now(),
      failedAt: Number.NEGATIVE_INFINITY,
      ended: undefined,
      noCredentials: false,
      unsaved: undefined,
    });
    slot.rejectionRenewedAt = Number.NEGATIVE_INFINITY;
    slot.rejectionRenewedVersion = 0;
    this.#keepAlive.plan(key, record);
    context.emit('login', { key, protocol: this.protocol.name, durationMs: context.now() - started, reason: 'login' });
    return record;
  }

  /**
   * Binds the session to another account of the same user, through the upstream's account switch
   * (the refresh-token upstream's masquerade); the new tokens replace the old under the same key.
   * Never runs beside a renewal of the key (here, or with a lock anywhere); a logout that begins
   * meanwhile wins (`NOT_LOGGED_IN`). An account the user may not use is `ACCESS_DENIED`, and the
   * session stays as it was. The session remembers the account: a later re-login with stored
   * credentials binds it again (where the protocol has `withAccount`, as the refreshToken preset does).
   */
  async switchAccount(sessionKey: SessionKey, accountId: number, options: CallOptions = {}): Promise<SessionState> {
    const key = this.#checkOpen(sessionKey);
    if (!this.protocol.switchAccount) throw new TypeError(`protocol ${this.protocol.name} cannot switch accounts`);
    if (!Number.isSafeInteger(accountId)) throw new TypeError('switchAccount: accountId must be a safe integer');
    return this.#stateOf(await this.#renewals.switchAccount(key, accountId, options.signal));
  }

  /**
   * Ends the session. Requests in this process get `NOT_LOGGED_IN` at once; a renewal still
   * running (here, or in another process holding the lock) is waited for, so that the upstream
   * logout presents the newest refresh token and no refresh token is ever presented twice;
   * a login still running loses. Then the session is deleted, and logged out upstream where the
   * protocol can.
   */
  async logout(sessionKey: SessionKey, options: CallOptions = {}): Promise<void> {
    const key = this.#checkOpen(sessionKey);
    const context = this.#context;
    const started = context.now();
    const slot = context.slots.get(key, started);
    slot.loggedOutAt = ++context.logoutSequence;
    slot.loggingOut++;
    let record: SessionRecord | undefined;
    try {
      await slot.renewal?.catch(ignore);
      await slot.switching?.catch(ignore);
      const release = await this.#renewals.lock(key, AbortSignal.timeout(context.options.renewalTimeoutMs)).catch(() => undefined);
      try {
        // The read only serves the upstream logout: a failing read must not keep the session alive.
        record = await context.read(key, options.signal).catch(() => undefined);
        await context.delete(key, record?.loginId);
        await context.tombstone(key);
      } finally {
        await release?.().catch(ignore);
      }
    } finally {
      slot.loggingOut--;
    }
    Object.assign(slot, { ended: undefined, idle: true, unsaved: undefined });
    this.#keepAlive.cancel(key);
    context.vault?.delete(key);
    if (record) {
      try {
        await this.protocol.logout(record.tokens, context.client(options.signal));
      } catch (error) {
        context.failed(key, 'logout', error); // the session is over here whatever the upstream says
      }
    }
    context.emit('logout', { key, protocol: this.protocol.name, durationMs: context.now() - started });
  }

  async state(sessionKey: SessionKey): Promise<SessionState> {
    const key = this.#checkOpen(sessionKey);
    const record = await this.#context.read(key);
    if (record) return this.#stateOf(record);
    return { status: this.#context.slots.peek(key)?.ended === undefined ? 'none' : 'ended' };
  }

  /** Checks credentials without starting a session (where the upstream can, e.g. `GET /auth/test`). */
  async verifyCredentials(credentials: Credentials, options: CallOptions = {}): Promise<boolean> {
    if (this.#context.closed) throw stateError('KEEPER_CLOSED');
    if (!this.protocol.verifyCredentials) throw new TypeError(`protocol ${this.protocol.name} cannot verify credentials`);
    return this.protocol.verifyCredentials(this.protocol.checkCredentials(credentials), this.#context.client(options.signal));
  }

  /** Resolves once no renewal is running in this process: for tests on a manual clock, instead of real-time sleeps. */
  settled(): Promise<void> {
    return this.#context.slots.settled();
  }

  /** Stops every timer and renewal; the process can exit once its own handles are closed. */
  async close(): Promise<void> {
    const context = this.#context;
    if (context.closed) return;
    context.closed = true;
    this.#keepAlive.close();
    this.#renewals.abortAll(stateError('KEEPER_CLOSED'));
    context.slots.clear();
    this.#identities.clear();
    context.vault?.clear();
    if (context.options.ownsStore) await context.options.store.close?.();
  }

  /** Live figures of this keeper: sessions used here lately, keep-alive plans and renewals running. */
  get stats(): KeeperStats {
    return {
      sessions: this.#context.slots.size,
      keepAlivePlanned: this.#keepAlive.planned,
      keepAliveRunning: this.#keepAlive.running,
      renewing: this.#context.slots.renewing,
    };
  }

  #stateOf(record: SessionRecord): SessionState {
    const { tokens } = record;
    return {
      status: statusOf(tokens, this.#context.now(), this.#context.options),
      expiresAt: tokens.expiresAt,
      refreshExpiresAt: tokens.refreshExpiresAt,
      version: record.version,
      service: record.service,
      ...(tokens.claims && { claims: tokens.claims }),
    };
  }

  /** The key `sessionKey` stands for, on an open keeper. */
  #checkOpen(sessionKey: SessionKey): string {
    if (this.#context.closed) throw stateError('KEEPER_CLOSED');
    return checkSessionKey(sessionKey);
  }
}

/**
 * The request path's read: it only sends the token it finds, so a store's near cache may answer
 * it. Renewals, refreshes, switches and logouts read through `KeeperContext.read`, without it.
 */
const CACHED_READ: StoreReadOptions = Object.freeze({ cached: true });

function originRefused(origin: string): AuthError {
  return new AuthError(
    'ORIGIN_NOT_ALLOWED',
    `session.fetch does not send requests to ${origin}: not the upstream's origin, and not in allowedOrigins`,
  );
}

function storeFailed(error: unknown): AuthError {
  return error instanceof AuthError ? error : new AuthError('STORE_UNAVAILABLE', 'the session store failed', { cause: error });
}

function accessTokenOf(record: SessionRecord): string {
  return record.tokens.accessToken;
}

/** A request that needs a renewal while the upstream asked not to be called yet. */
function pausedError(remainingMs: number): AuthError {
  return new AuthError(
    'UPSTREAM_UNAVAILABLE',
    `the upstream asked not to be called for another ${Math.ceil(remainingMs / 1000)} s (Retry-After)`,
    {
      upstream: { operation: 'refresh', retryAfterMs: remainingMs },
    },
  );
}
