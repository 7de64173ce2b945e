import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { deadline, isThenable, untilAborted } from './abort.js';
import { initOf, sendAuthorized } from './authorized-fetch.js';
import { eventChannel } from './diagnostics.js';
import { AuthError, toAuthError } from './errors.js';
import { KeeperEvents, type RenewalTrigger, type TokenKeeperEventName, type TokenKeeperEvents } from './events.js';
import { createUpstreamClient, type UpstreamClient } from './http.js';
import { attachLogger } from './logging.js';
import { type NormalizedOptions, normalizeOptions, type TokenKeeperOptions } from './options.js';
import type { Protocol } from './protocols/protocol.js';
import { KeepAliveScheduler } from './scheduler.js';
import { Session } from './session.js';
import type { SessionRecord, SessionStore } from './store/store.js';
import type { TokenSet } from './tokens.js';
import { CredentialVault } from './vault.js';

export interface LoginOptions {
  signal?: AbortSignal;
  /** A service session is kept alive forever; a user session until `idleMs` without use. Default `false`. */
  service?: boolean;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** What `session.state()` tells: times and status, never tokens. */
export interface SessionState {
  /** `none`: not logged in; `expiring`: inside the refresh window; `expired`: needs a renewal before use. */
  status: 'none' | 'active' | 'expiring' | 'expired';
  expiresAt?: number;
  refreshExpiresAt?: number | undefined;
  version?: number;
  service?: boolean;
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

/** Per-key facts of this process: last use (for idle keep-alive) and last failed renewal. */
interface KeyState {
  usedAt: number;
  failedAt: number;
}

const MAX_KEY_LENGTH = 1024;

/**
 * Keeps sessions against one upstream alive: logs in, stores tokens, renews before expiry,
 * refreshes and retries once on the expiry signal, and never runs two renewals of one session
 * at once. Adapters only ever talk to this class (through {@link Session}).
 *
 * What a request does, by the state of its token:
 * fresh → use it; in the refresh window → use it while one background renewal runs;
 * expired (or within `expiryMarginMs`) → wait for the renewal.
 *
 * @example
 * const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: 'https://api.example' }) });
 * const session = keeper.session('user-42');
 * await session.login({ username: 'ada', password });
 * const response = await session.fetch('/reports/call-data');
 */
export class TokenKeeper<Credentials = unknown> {
  readonly protocol: Protocol<Credentials>;
  readonly #options: NormalizedOptions<Credentials>;
  readonly #events = new KeeperEvents();
  readonly #states: LRUCache<string, KeyState>;
  /** Single flight: the one renewal running per key in this process. */
  readonly #renewing = new Map<string, Promise<SessionRecord>>();
  readonly #renewalControllers = new Set<AbortController>();
  /** Refresh tokens presented whose successors could not be stored (rare: a store outage mid-renewal). */
  readonly #spentRefreshTokens = new LRUCache<string, true>({ max: 1_000 });
  readonly #scheduler: KeepAliveScheduler;
  readonly #vault: CredentialVault<Credentials> | undefined;
  #closed = false;

  constructor(options: TokenKeeperOptions<Credentials>) {
    this.#options = normalizeOptions(options);
    this.protocol = this.#options.protocol;
    this.#states = new LRUCache({ max: this.#options.maxSessions });
    this.#scheduler = new KeepAliveScheduler({
      clock: this.#options.clock,
      concurrency: this.#options.keepAliveConcurrency,
      run: (key) => this.#keepAlive(key),
    });
    this.#vault = this.#options.rememberCredentials
      ? new CredentialVault(this.#options.maxSessions, this.#options.idleMs + this.#options.retainExpiredMs)
      : undefined;
    if (this.#options.logger) attachLogger(this, this.#options.logger);
  }

  /** A cheap handle bound to one session key; creating it does no I/O. */
  session(key: string): Session<Credentials> {
    checkKey(key);
    return new Session(this, key);
  }

  /** Subscribes to `login`, `refresh`, `expired`, `logout` or `error`; returns the unsubscribe function. */
  on<Name extends TokenKeeperEventName>(name: Name, listener: (event: TokenKeeperEvents[Name]) => void): () => void {
    return this.#events.on(name, listener);
  }

  off<Name extends TokenKeeperEventName>(name: Name, listener: (event: TokenKeeperEvents[Name]) => void): void {
    this.#events.off(name, listener);
  }

  // ── the decision, as named predicates ───────────────────────────────────────────────

  /** How long before expiry renewal starts: `refreshWindowMs`, at most a quarter of the lifetime. */
  #windowOf(tokens: TokenSet): number {
    return Math.min(this.#options.refreshWindowMs, (tokens.expiresAt - tokens.issuedAt) / 4);
  }

  #hasCredentials(key: string): boolean {
    return this.#options.credentials !== undefined || this.#vault?.has(key) === true;
  }

  /** When this session should be renewed: before the access token, or the refresh token when a re-login can replace it. */
  #renewAt(key: string, tokens: TokenSet): number {
    const window = this.#windowOf(tokens);
    const accessDue = tokens.expiresAt - window;
    if (tokens.refreshExpiresAt === undefined || !this.#hasCredentials(key)) return accessDue;
    return Math.min(accessDue, tokens.refreshExpiresAt - window);
  }

  /** The token cannot be sent any more: a request must wait for a renewal. */
  /** The protocol can still refresh, and (rotating upstreams) the refresh token is not spent. */
  #canRefresh(tokens: TokenSet, now: number): boolean {
    if (!this.protocol.canRefresh(tokens, now)) return false;
    if (!this.protocol.rotatesRefreshTokens) return true;
    return tokens.refreshToken !== undefined && !this.#spentRefreshTokens.has(tokens.refreshToken);
  }

  /** Something can renew this session now: a usable refresh, or credentials for a re-login. */
  #renewable(key: string, tokens: TokenSet, now: number): boolean {
    return this.#canRefresh(tokens, now) || this.#hasCredentials(key);
  }

  #marginOf(tokens: TokenSet): number {
    return Math.min(this.#options.expiryMarginMs, (tokens.expiresAt - tokens.issuedAt) / 20);
  }

  /** The token cannot be sent any more: a request must wait for a renewal (or learn the session ended). */
  #mustRenew(tokens: TokenSet, now: number): boolean {
    return now >= tokens.expiresAt - this.#marginOf(tokens);
  }

  /**
   * Inside the renewal window, with no renewal running, no recent failure, and something that
   * can renew: a session nothing can renew serves its token until it expires, then ends.
   */
  #shouldRenew(key: string, record: SessionRecord, state: KeyState, now: number): boolean {
    return (
      now >= this.#renewAt(key, record.tokens) &&
      !this.#renewing.has(key) &&
      now - state.failedAt >= this.#options.retryIntervalMs &&
      this.#renewable(key, record.tokens, now)
    );
  }

  /** The one place that says what a request does with the session it found. */
  #ready(key: string, record: SessionRecord | undefined, signal?: AbortSignal | null): SessionRecord | Promise<SessionRecord> {
    if (!record) throw notLoggedIn();
    const now = this.#options.clock.now();
    const state = this.#touch(key, record, now);
    if (this.#mustRenew(record.tokens, now)) return this.#renew(key, record, 'expired', signal);
    if (this.#shouldRenew(key, record, state, now)) this.#renew(key, record, 'proactive').catch(ignore);
    return record;
  }

  // ── requests ────────────────────────────────────────────────────────────────────────

  /**
   * The access token to send now, renewing first only if it has expired. On a fresh token this
   * is a store lookup and a comparison.
   */
  token(key: string, options?: CallOptions): Promise<string> {
    try {
      this.#checkOpen(key);
      const ready = this.#currentRecord(key, options?.signal);
      return isThenable(ready) ? ready.then(accessTokenOf) : Promise.resolve(ready.tokens.accessToken);
    } catch (error) {
      return Promise.reject(toAuthError(error, 'STORE_UNAVAILABLE', 'the session store failed'));
    }
  }

  /**
   * The session's record, ready to send: answered synchronously when the store answers so (the
   * memory store does) and no renewal must be waited for, so the hot path makes no promises.
   */
  #currentRecord(key: string, signal?: AbortSignal | null): SessionRecord | Promise<SessionRecord> {
    let found: ReturnType<SessionStore['get']>;
    try {
      found = this.#options.store.get(key);
    } catch (error) {
      storeFailed(error);
    }
    if (!isThenable(found)) return this.#ready(key, found, signal);
    return untilAborted(found.then(undefined, storeFailed), signal).then((record) => this.#ready(key, record, signal));
  }

  /**
   * `fetch` with the session's token. Relative URLs resolve against the protocol's base URL; a
   * token goes only to the protocol's origin (redirects elsewhere lose it). An answer with the
   * protocol's expiry signal triggers one renewal — only if the rejected token is still the
   * stored one — and exactly one retry; a second rejection is returned as it is.
   */
  async fetch(key: string, input: string | URL | Request, init?: RequestInit): Promise<Response> {
    this.#checkOpen(key);
    let url: URL;
    let first: RequestInit;
    let retry: RequestInit;
    if (input instanceof Request || init?.body instanceof ReadableStream) {
      // A Request, or a stream that can be read once: build a Request and keep a copy for the retry.
      const request = new Request(input instanceof Request ? input : new URL(input, this.protocol.baseUrl), init);
      url = new URL(request.url);
      if (url.origin !== this.protocol.origin) return this.#options.fetch(request);
      // clone() tees the body and gives the original a new stream: copy first, then read the parts.
      const copy = request.body ? request.clone() : request;
      first = initOf(request);
      retry = copy === request ? first : initOf(copy);
    } else {
      // The common case takes no Request at all: one URL parse, and the caller's init as it is.
      url = new URL(input, this.protocol.baseUrl);
      if (url.origin !== this.protocol.origin) return this.#options.fetch(url, init);
      first = retry = init ?? {};
    }
    let record = await this.#currentRecord(key, first.signal);
    const response = await sendAuthorized(this.#options.fetch, this.protocol, url.href, first, record.tokens.accessToken);
    if (!this.protocol.isExpirySignal(response)) return response;
    await response.body?.cancel();
    record = await this.#afterRejection(key, record.tokens.accessToken, first.signal);
    return sendAuthorized(this.#options.fetch, this.protocol, url.href, retry, record.tokens.accessToken);
  }

  /**
   * The token to retry with after the upstream rejected `rejectedToken` with the expiry signal:
   * renews only if that token is still the stored one (else someone already did), single flight.
   * For adapters that send requests themselves (the axios interceptor); `fetch` uses it too.
   */
  async renewAfterRejection(key: string, rejectedToken: string, options?: CallOptions): Promise<string> {
    this.#checkOpen(key);
    return (await this.#afterRejection(key, rejectedToken, options?.signal)).tokens.accessToken;
  }

  async #afterRejection(key: string, rejectedToken: string, signal?: AbortSignal | null): Promise<SessionRecord> {
    const current = await this.#read(key, signal);
    if (!current) throw notLoggedIn();
    const renewed = current.tokens.accessToken === rejectedToken;
    this.#emit('retry', { key, protocol: this.protocol.name, renewed });
    return renewed ? this.#renew(key, current, 'rejected', signal) : this.#ready(key, current, signal);
  }

  // ── login, logout, state ───────────────────────────────────────────────────────────

  /** Logs in and stores the session under `key`, replacing any session there. */
  async login(key: string, credentials: Credentials, options: LoginOptions = {}): Promise<SessionState> {
    this.#checkOpen(key);
    const checked = this.protocol.checkCredentials(credentials);
    const started = this.#options.clock.now();
    let tokens: TokenSet;
    try {
      tokens = await this.protocol.login(checked, this.#client(options.signal));
    } catch (error) {
      throw this.#failed(key, 'login', error);
    }
    const record: SessionRecord = { tokens, version: 1, loginId: randomBytes(9).toString('base64url'), service: options.service === true };
    await this.#write(key, record, null);
    this.#vault?.put(key, checked);
    this.#states.set(key, { usedAt: this.#options.clock.now(), failedAt: Number.NEGATIVE_INFINITY });
    this.#plan(key, record);
    this.#emit('login', { key, protocol: this.protocol.name, durationMs: this.#options.clock.now() - started, reason: 'login' });
    return this.#stateOf(record);
  }

  /**
   * Ends the session here at once, then upstream where the protocol can. A renewal still
   * running finds the session gone and never brings it back.
   */
  async logout(key: string, options: CallOptions = {}): Promise<void> {
    this.#checkOpen(key);
    const started = this.#options.clock.now();
    // The read only serves the upstream logout: a failing read must not keep the session alive.
    const record = await this.#read(key, options.signal).catch(() => undefined);
    await this.#storeCall(() => this.#options.store.delete(key));
    this.#forget(key);
    if (record) {
      try {
        await this.protocol.logout(record.tokens, this.#client(options.signal));
      } catch (error) {
        this.#failed(key, 'logout', error); // the session is over here whatever the upstream says
      }
    }
    this.#emit('logout', { key, protocol: this.protocol.name, durationMs: this.#options.clock.now() - started });
  }

  async state(key: string): Promise<SessionState> {
    this.#checkOpen(key);
    const record = await this.#read(key);
    return record ? this.#stateOf(record) : { status: 'none' };
  }

  /** Checks credentials without starting a session (seed 002's `GET /auth/test`). */
  async verifyCredentials(credentials: Credentials, options: CallOptions = {}): Promise<boolean> {
    if (this.#closed) throw closedError();
    if (!this.protocol.verifyCredentials) throw new TypeError(`protocol ${this.protocol.name} cannot verify credentials`);
    return this.protocol.verifyCredentials(this.protocol.checkCredentials(credentials), this.#client(options.signal));
  }

  /** Stops every timer and renewal; the process can exit once its own handles are closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#scheduler.close();
    for (const controller of this.#renewalControllers) controller.abort(closedError());
    this.#renewalControllers.clear();
    this.#states.clear();
    this.#vault?.clear();
    if (this.#options.ownsStore) await this.#options.store.close?.();
  }

  /** Live figures of this keeper: sessions used here lately, keep-alive plans and renewals running. */
  get stats(): KeeperStats {
    return {
      sessions: this.#states.size,
      keepAlivePlanned: this.#scheduler.size,
      keepAliveRunning: this.#scheduler.running,
      renewing: this.#renewing.size,
    };
  }

  // ── renewal: single flight ──────────────────────────────────────────────────────────

  #renew(key: string, seen: SessionRecord, trigger: RenewalTrigger, signal?: AbortSignal | null): Promise<SessionRecord> {
    let renewal = this.#renewing.get(key);
    if (!renewal) {
      renewal = this.#runRenewal(key, seen, trigger);
      this.#renewing.set(key, renewal);
      const settled = () => this.#renewing.delete(key);
      renewal.then(settled, settled);
    }
    return untilAborted(renewal, signal);
  }

  /** One renewal, with its own timeout, shared by every waiter; a waiter's abort does not cancel it. */
  async #runRenewal(key: string, seen: SessionRecord, trigger: RenewalTrigger): Promise<SessionRecord> {
    const controller = new AbortController();
    this.#renewalControllers.add(controller);
    const limit = deadline(this.#options.renewalTimeoutMs, controller.signal);
    const signal = limit.signal;
    let release: (() => Promise<void>) | undefined;
    try {
      if (this.#options.lock) {
        release = await this.#options.lock.acquire(key, {
          // Long enough for a refresh and a re-login, short enough that a crashed holder's lock
          // frees itself while the others are still waiting.
          ttlMs: Math.min(this.#options.renewalTimeoutMs / 2, 2 * this.#options.timeoutMs + 2_000),
          waitMs: this.#options.renewalTimeoutMs,
          signal,
        });
      }
      // Read again under the lock: another instance may have renewed (or logged out) meanwhile,
      // and only the refresh token stored *now* may be presented.
      const current = await this.#read(key);
      if (!current) throw notLoggedIn('the session ended while it was being renewed');
      if (current.loginId !== seen.loginId || current.version !== seen.version) return current;
      const next = await this.#renewRecord(key, current, trigger, signal);
      const state = this.#states.get(key);
      if (state) state.failedAt = Number.NEGATIVE_INFINITY;
      return next;
    } catch (error) {
      const state = this.#states.get(key);
      if (state) state.failedAt = this.#options.clock.now();
      if (controller.signal.aborted) throw closedError();
      if (limit.timedOut && !(error instanceof AuthError)) {
        throw this.#failed(key, 'refresh', new AuthError('TIMEOUT', `renewal took longer than ${this.#options.renewalTimeoutMs} ms`));
      }
      throw error instanceof AuthError && error.code === 'SESSION_EXPIRED' ? error : this.#failed(key, 'refresh', error);
    } finally {
      limit.clear();
      this.#renewalControllers.delete(controller);
      await release?.().catch(ignore);
    }
  }

  /** Refreshes when the protocol still can, else logs in again when credentials are at hand, else ends the session. */
  async #renewRecord(key: string, seen: SessionRecord, trigger: RenewalTrigger, signal: AbortSignal): Promise<SessionRecord> {
    const started = this.#options.clock.now();
    let record = seen;
    const tokens = record.tokens;
    const client = this.#client(signal);
    const canRelogin = this.#hasCredentials(key);
    const refreshLapsing =
      canRelogin && tokens.refreshExpiresAt !== undefined && started >= tokens.refreshExpiresAt - this.#windowOf(tokens);
    let reason = 'the token expired and the upstream cannot renew it';
    if (this.#canRefresh(tokens, started) && !refreshLapsing) {
      try {
        const next = await this.#replace(key, record, await this.protocol.refresh(tokens, client));
        this.#emit('refresh', {
          key,
          protocol: this.protocol.name,
          durationMs: this.#options.clock.now() - started,
          trigger,
          expiresAt: next.tokens.expiresAt,
        });
        return next;
      } catch (error) {
        const refused = error instanceof AuthError && error.code === 'SESSION_EXPIRED';
        // A rotating upstream may have spent the refresh token even though we never read its
        // answer (a timeout, a 5xx, a reset): presenting it again could kill the session.
        const maybeSpent = this.protocol.rotatesRefreshTokens && (error instanceof AuthError ? outcomeUnknown(error) : signal.aborted);
        if (!refused && !maybeSpent) throw error;
        if (maybeSpent) {
          const spent = await this.#replace(key, record, { ...tokens, refreshToken: undefined });
          if (spent.loginId !== record.loginId) return spent; // a newer login got there first
          record = spent; // the access token still serves until it expires
          if (!canRelogin || signal.aborted) throw error;
          this.#failed(key, 'refresh', error); // recovered below by a re-login, but worth reporting
        }
        reason = refused ? 'the upstream refused to renew the session' : 'the refresh outcome is unknown';
      }
    }
    const credentials = canRelogin ? await this.#credentialsFor(key) : undefined;
    if (credentials === undefined) return this.#expire(key, record, reason);
    let fresh: TokenSet;
    try {
      fresh = await this.protocol.login(credentials, client);
    } catch (error) {
      if (error instanceof AuthError && (error.code === 'INVALID_CREDENTIALS' || error.code === 'NO_ACTIVE_MEMBERSHIP')) {
        await this.#end(key, record, `re-login refused: ${error.code}`);
      }
      throw error;
    }
    const next = await this.#replace(key, record, fresh);
    this.#emit('login', { key, protocol: this.protocol.name, durationMs: this.#options.clock.now() - started, reason: 'relogin' });
    return next;
  }

  async #credentialsFor(key: string): Promise<Credentials | undefined> {
    let provided: Credentials | undefined;
    try {
      provided = await this.#options.credentials?.(key);
    } catch (error) {
      throw new AuthError('SESSION_EXPIRED', 'the credentials provider failed', { cause: error });
    }
    if (provided !== undefined) return this.protocol.checkCredentials(provided);
    return this.#vault?.get(key);
  }

  /** Stores renewed tokens unless a logout or a newer login got there first (they win). */
  async #replace(key: string, previous: SessionRecord, tokens: TokenSet): Promise<SessionRecord> {
    const record: SessionRecord = { tokens, version: previous.version + 1, loginId: previous.loginId, service: previous.service };
    let written: boolean;
    try {
      written = await this.#write(key, record, previous);
    } catch (error) {
      // The upstream may have rotated already: the stored refresh token must not be presented
      // again from here, though the store still holds it.
      const spent = previous.tokens.refreshToken;
      if (spent !== undefined && tokens.refreshToken !== spent) this.#spentRefreshTokens.set(spent, true);
      throw error;
    }
    if (written) {
      this.#plan(key, record);
      return record;
    }
    // The tokens just issued belong to no session now: end them upstream too.
    this.protocol.logout(tokens, this.#client()).catch(ignore);
    const current = await this.#read(key);
    if (!current) throw notLoggedIn('the session was logged out while it was being renewed');
    return current;
  }

  async #expire(key: string, record: SessionRecord, reason: string): Promise<never> {
    await this.#end(key, record, reason);
    throw new AuthError('SESSION_EXPIRED', 'the session has expired: log in again');
  }

  async #end(key: string, record: SessionRecord, reason: string): Promise<void> {
    await this.#storeCall(() => this.#options.store.delete(key, { loginId: record.loginId }));
    this.#forget(key);
    this.#emit('expired', { key, protocol: this.protocol.name, reason });
  }

  // ── keep-alive ──────────────────────────────────────────────────────────────────────

  /** Plans this session's next keep-alive renewal, jittered so sessions logged in together spread out. */
  #plan(key: string, record: SessionRecord): void {
    if (!this.#options.keepAlive || this.#closed) return;
    this.#scheduler.schedule(key, this.#renewAt(key, record.tokens) - Math.random() * this.#jitterOf(record.tokens));
  }

  #jitterOf(tokens: TokenSet): number {
    return Math.min(this.#options.keepAliveJitterMs, this.#windowOf(tokens) / 2);
  }

  /** Records a use; the first use in this process plans the keep-alive. */
  #touch(key: string, record: SessionRecord, now: number): KeyState {
    let state = this.#states.get(key);
    if (state) {
      state.usedAt = now;
      return state;
    }
    state = { usedAt: now, failedAt: Number.NEGATIVE_INFINITY };
    this.#states.set(key, state);
    this.#plan(key, record);
    return state;
  }

  async #keepAlive(key: string): Promise<void> {
    const state = this.#states.get(key);
    if (!state || this.#closed) return;
    try {
      const record = await this.#read(key);
      if (!record) return this.#forget(key);
      const now = this.#options.clock.now();
      // An idle user session is let go; its next request plans keep-alive again.
      if (!record.service && now - state.usedAt >= this.#options.idleMs) return void this.#states.delete(key);
      // Earlier than any jittered plan for these tokens: renewed elsewhere meanwhile, plan again.
      if (now < this.#renewAt(key, record.tokens) - this.#jitterOf(record.tokens)) return this.#plan(key, record);
      if (!this.#renewable(key, record.tokens, now) && !this.#mustRenew(record.tokens, now)) {
        // Nothing can renew it: let the token serve, and end the session when it expires.
        return this.#scheduler.schedule(key, record.tokens.expiresAt - this.#marginOf(record.tokens));
      }
      await this.#renew(key, record, 'keep-alive');
    } catch {
      // Already reported as an event; try again soon if the session still exists.
      if (!this.#closed && this.#states.has(key)) {
        this.#scheduler.schedule(key, this.#options.clock.now() + this.#options.retryIntervalMs);
      }
    }
  }

  // ── plumbing ────────────────────────────────────────────────────────────────────────

  #forget(key: string): void {
    this.#states.delete(key);
    this.#scheduler.cancel(key);
    this.#vault?.delete(key);
  }

  #client(signal?: AbortSignal): UpstreamClient {
    return createUpstreamClient({
      fetch: this.#options.fetch,
      timeoutMs: this.#options.timeoutMs,
      maxBodyBytes: this.#options.maxBodyBytes,
      now: this.#options.clock.now,
      signal,
    });
  }

  #ttlOf(tokens: TokenSet): number {
    const lastUseful = Math.max(tokens.expiresAt, tokens.refreshExpiresAt ?? 0);
    return lastUseful - this.#options.clock.now() + this.#options.retainExpiredMs;
  }

  #write(key: string, record: SessionRecord, previous: SessionRecord | null): Promise<boolean> {
    const expected = previous && { loginId: previous.loginId, version: previous.version };
    return this.#storeCall(() => this.#options.store.set(key, record, expected, this.#ttlOf(record.tokens)));
  }

  /** A store read; the caller's signal stops the wait (the store bounds the call itself). */
  #read(key: string, signal?: AbortSignal | null): Promise<SessionRecord | undefined> {
    return untilAborted(
      this.#storeCall(() => this.#options.store.get(key)),
      signal,
    );
  }

  async #storeCall<T>(call: () => T | Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw toAuthError(error, 'STORE_UNAVAILABLE', 'the session store failed');
    }
  }

  #stateOf(record: SessionRecord): SessionState {
    const now = this.#options.clock.now();
    const { tokens } = record;
    const status = this.#mustRenew(tokens, now) ? 'expired' : now >= tokens.expiresAt - this.#windowOf(tokens) ? 'expiring' : 'active';
    return {
      status,
      expiresAt: tokens.expiresAt,
      refreshExpiresAt: tokens.refreshExpiresAt,
      version: record.version,
      service: record.service,
    };
  }

  #checkOpen(key: string): void {
    if (this.#closed) throw closedError();
    checkKey(key);
  }

  /** Reports a failed upstream call as an `error` event and returns it as an AuthError. */
  #failed(key: string, operation: 'login' | 'refresh' | 'logout', error: unknown): unknown {
    if (!(error instanceof AuthError)) return error; // an abort reason: the caller's own doing
    this.#emit('error', { key, protocol: this.protocol.name, operation, error });
    return error;
  }

  #emit<Name extends TokenKeeperEventName>(name: Name, event: TokenKeeperEvents[Name]): void {
    this.#events.emit(name, event);
    if (eventChannel.hasSubscribers) eventChannel.publish({ name, event });
  }
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new AuthError('NOT_LOGGED_IN', `the session key must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`);
  }
}

/** Whether the upstream may have acted on a call whose answer we did not get or could not read. */
function outcomeUnknown(error: AuthError): boolean {
  if (error.code === 'TIMEOUT' || error.code === 'UPSTREAM_MALFORMED') return true;
  if (error.code !== 'UPSTREAM_UNAVAILABLE') return false;
  const status = error.upstream?.status;
  return status === undefined ? !/ECONNREFUSED|ENOTFOUND/.test(error.message) : status >= 500;
}

function notLoggedIn(message = 'no session: log in first'): AuthError {
  return new AuthError('NOT_LOGGED_IN', message);
}

function closedError(): AuthError {
  return new AuthError('STORE_UNAVAILABLE', 'the TokenKeeper is closed');
}

function storeFailed(error: unknown): never {
  throw toAuthError(error, 'STORE_UNAVAILABLE', 'the session store failed');
}

function accessTokenOf(record: SessionRecord): string {
  return record.tokens.accessToken;
}

function ignore(): void {}
