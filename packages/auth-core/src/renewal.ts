import { setTimeout as sleep } from 'node:timers/promises';
import { deadline, untilAborted } from './abort.js';
import { ignore, type KeeperContext } from './context.js';
import { AuthError, stateError } from './errors.js';
import type { RenewalTrigger } from './events.js';
import { mustRenew, type RenewalFacts, renewalAction } from './policy.js';
import type { KeySlot } from './slots.js';
import type { SessionRecord } from './store/store.js';
import type { TokenSet } from './tokens.js';

/**
 * Renewal: single flight per key (one promise in the key's slot), a lock across processes, a
 * re-read under it, the policy's decision, and a compare-and-set write. A logout that began
 * meanwhile wins: its tokens are logged out upstream and never stored.
 */
export class Renewals<Credentials> {
  readonly #context: KeeperContext<Credentials>;
  readonly #controllers = new Set<AbortController>();
  /** Called with each record a renewal settled on, once its slot is free (keep-alive plans the next). */
  readonly #onRenewed: (key: string, record: SessionRecord) => void;

  constructor(context: KeeperContext<Credentials>, onRenewed: (key: string, record: SessionRecord) => void) {
    this.#context = context;
    this.#onRenewed = onRenewed;
  }

  /** Joins the running renewal of `key`, or starts one from `seen`; the caller's signal only stops its own wait. */
  renew(key: string, seen: SessionRecord, trigger: RenewalTrigger, signal?: AbortSignal | null): Promise<SessionRecord> {
    const slot = this.#context.slots.get(key, this.#context.now());
    if (slot.loggingOut > 0) return Promise.reject(stateError('NOT_LOGGED_IN'));
    // A switch is running: renew after it, from what it left (a renewal then finds it new, and stops).
    const switching = slot.switching;
    if (switching)
      return untilAborted(
        switching.then(ignore, ignore).then(() => this.renew(key, seen, trigger)),
        signal,
      );
    let renewal = slot.renewal;
    if (!renewal) {
      const startedAt = this.#context.logoutSequence;
      // A logout that begins meanwhile waits for this renewal and ends what it stored; its waiters lose.
      const running = this.#run(key, slot, seen, trigger).then((record) =>
        slot.loggedOutAt > startedAt ? Promise.reject(stateError('NOT_LOGGED_IN')) : record,
      );
      renewal = running;
      slot.renewal = running;
      running.then(
        (record) => {
          if (slot.renewal === running) slot.renewal = undefined;
          this.#onRenewed(key, record);
        },
        () => {
          if (slot.renewal === running) slot.renewal = undefined;
        },
      );
    }
    return untilAborted(renewal, signal);
  }

  /**
   * Switches `key` to another account. Single flight with renewals: it waits for the renewal (or
   * switch) running now, renewals that begin meanwhile wait for it, and it takes the same lock
   * across processes. A logout that begins meanwhile waits for it and ends what it stored.
   */
  switchAccount(key: string, accountId: number, signal?: AbortSignal | null): Promise<SessionRecord> {
    const context = this.#context;
    const slot = context.slots.get(key, context.now());
    if (slot.loggingOut > 0) return Promise.reject(stateError('NOT_LOGGED_IN'));
    const startedAt = context.logoutSequence;
    const before = slot.switching;
    const running = (async () => {
      await before?.catch(ignore);
      await slot.renewal?.catch(ignore);
      if (slot.loggedOutAt > startedAt) throw stateError('NOT_LOGGED_IN'); // logged out while it waited: nothing to switch
      const record = await this.#runSwitch(key, slot, accountId);
      if (slot.loggedOutAt > startedAt) throw stateError('NOT_LOGGED_IN');
      return record;
    })();
    slot.switching = running;
    running.then(
      (record) => {
        if (slot.switching === running) slot.switching = undefined;
        this.#onRenewed(key, record);
      },
      () => {
        if (slot.switching === running) slot.switching = undefined;
      },
    );
    return untilAborted(running, signal);
  }

  /** One switch under the lock: a token that can no longer be sent is renewed first (a dead bearer cannot switch). */
  async #runSwitch(key: string, slot: KeySlot, accountId: number): Promise<SessionRecord> {
    const context = this.#context;
    const controller = new AbortController();
    this.#controllers.add(controller);
    const limit = deadline(context.options.renewalTimeoutMs, controller.signal);
    const started = context.now();
    let release: (() => Promise<void>) | undefined;
    try {
      release = await this.lock(key, limit.signal);
      let current = await context.read(key);
      if (!current) throw context.noSession(key);
      if (mustRenew(current.tokens, context.now(), context.options)) {
        current = await this.#renewRecord(key, slot, current, 'expired', limit.signal);
      }
      let tokens: TokenSet | undefined;
      for (let attempt = 1; tokens === undefined; attempt++) {
        try {
          tokens = context.accept(await context.protocol.switchAccount!(current.tokens, accountId, context.client(limit.signal)), 'login');
        } catch (error) {
          // A token the upstream killed early is renewed, and the switch tried once more.
          if (attempt > 1 || !this.#rejectedToken(error)) throw context.failed(key, 'switch', error);
          current = await this.#renewRecord(key, slot, current, 'rejected', limit.signal);
        }
      }
      const next = await this.#replace(key, slot, current, tokens, accountId);
      context.emit('switch', { key, protocol: context.protocol.name, durationMs: context.now() - started, accountId });
      return next;
    } catch (error) {
      if (controller.signal.aborted) throw stateError('KEEPER_CLOSED');
      if (limit.timedOut && !(error instanceof AuthError)) {
        throw context.failed(
          key,
          'switch',
          new AuthError('TIMEOUT', `account switch took longer than ${context.options.renewalTimeoutMs} ms`),
        );
      }
      throw error;
    } finally {
      limit.clear();
      this.#controllers.delete(controller);
      await release?.().catch(ignore);
    }
  }

  /** Whether a failed switch was answered with the protocol's expiry signal (its token is dead), not a refusal. */
  #rejectedToken(error: unknown): boolean {
    const status = error instanceof AuthError && error.code === 'UPSTREAM_REJECTED' ? error.upstream?.status : undefined;
    return status !== undefined && this.#context.protocol.isExpirySignal({ status, headers: new Headers() });
  }

  /** Aborts every running renewal (the keeper is closing). */
  abortAll(reason: unknown): void {
    for (const controller of this.#controllers) controller.abort(reason);
    this.#controllers.clear();
  }

  /** Takes the cross-process lock, when one is configured, for as long as a renewal may take. */
  async lock(key: string, signal: AbortSignal): Promise<(() => Promise<void>) | undefined> {
    const { options } = this.#context;
    if (!options.lock) return undefined;
    return options.lock.acquire(key, { ttlMs: this.#lockTtlMs(), waitMs: options.renewalTimeoutMs, signal });
  }

  /**
   * How long the lock is held at most: long enough for a refresh and a re-login, short enough
   * that a crashed holder's lock frees itself while the others are still waiting. A refresh token
   * taken out of the record to be presented is waited for as long (see {@link SessionRecord.refreshing}).
   */
  #lockTtlMs(): number {
    const { options } = this.#context;
    return Math.min(options.renewalTimeoutMs / 2, 2 * options.timeoutMs + 2_000);
  }

  /**
   * Whether a rotating refresh token is taken out of the stored record before it is presented:
   * only where other instances share the store (a lock says so), since only they could present
   * it meanwhile, or after this instance's answer was lost with the store down.
   */
  get #writesAhead(): boolean {
    return this.#context.options.lock !== undefined && this.#context.protocol.rotatesRefreshTokens;
  }

  /** One renewal, with its own timeout, shared by every waiter. */
  async #run(key: string, slot: KeySlot, seen: SessionRecord, trigger: RenewalTrigger): Promise<SessionRecord> {
    const context = this.#context;
    const controller = new AbortController();
    this.#controllers.add(controller);
    const limit = deadline(context.options.renewalTimeoutMs, controller.signal);
    let release: (() => Promise<void>) | undefined;
    try {
      release = await this.lock(key, limit.signal);
      // Read again under the lock: another instance may have renewed (or logged out) meanwhile,
      // and only the refresh token stored *now* may be presented.
      let current = await context.read(key);
      if (!current) throw context.noSession(key);
      const unsaved = slot.unsaved;
      if (unsaved && unsaved.loginId === current.loginId && unsaved.version === current.version + 1) {
        // A renewal here got these tokens while the store was down; the stored refresh token is spent.
        if (!(await context.write(key, unsaved, current))) return (await context.read(key)) ?? Promise.reject(context.noSession(key));
        slot.unsaved = undefined;
        if (!mustRenew(unsaved.tokens, context.now(), context.options) && trigger !== 'rejected') return unsaved;
        current = unsaved;
      } else if (current.loginId !== seen.loginId || current.version !== seen.version) {
        return current;
      }
      const next = await this.#renewRecord(key, slot, current, trigger, limit.signal);
      slot.failedAt = Number.NEGATIVE_INFINITY;
      slot.retryAt = Number.NEGATIVE_INFINITY;
      return next;
    } catch (error) {
      slot.failedAt = context.now();
      const pause = error instanceof AuthError ? error.upstream?.retryAfterMs : undefined;
      slot.retryAt = pause === undefined ? Number.NEGATIVE_INFINITY : slot.failedAt + pause;
      if (controller.signal.aborted) throw stateError('KEEPER_CLOSED');
      if (limit.timedOut && !(error instanceof AuthError)) {
        throw context.failed(key, 'refresh', new AuthError('TIMEOUT', `renewal took longer than ${context.options.renewalTimeoutMs} ms`));
      }
      throw error;
    } finally {
      limit.clear();
      this.#controllers.delete(controller);
      await release?.().catch(ignore);
    }
  }

  /** Asks the policy what to do, and does it: refresh, log in again, keep the token, or end the session. */
  async #renewRecord(
    key: string,
    slot: KeySlot,
    seen: SessionRecord,
    trigger: RenewalTrigger,
    signal: AbortSignal,
  ): Promise<SessionRecord> {
    const context = this.#context;
    const { protocol, options } = context;
    const started = context.now();
    const client = context.client(signal);
    let record = seen;
    const facts: RenewalFacts = {
      refreshable: context.refreshable(record.tokens, started),
      credentials: context.mayHaveCredentials(key),
      rejected: trigger === 'rejected',
      refreshElsewhere: refreshElsewhereOf(record, started),
    };
    let credentials: Credentials | undefined;
    let refreshError: unknown;
    // The policy may want a login; whether it can have one is known only once the provider answers.
    const decide = async () => {
      const action = renewalAction(record.tokens, context.now(), facts, options);
      if (action !== 'relogin' || credentials !== undefined) return action;
      credentials = await this.#credentialsFor(key);
      slot.noCredentials = credentials === undefined;
      if (credentials !== undefined) return action;
      facts.credentials = false;
      return renewalAction(record.tokens, context.now(), facts, options);
    };

    let action = await decide();
    if (action === 'await') {
      // Another instance took the refresh token out to present it: its answer is the session's.
      const after = await this.#awaitRefreshElsewhere(key, record, signal);
      if (after.loginId !== record.loginId || after.version !== record.version) return after;
      facts.refreshElsewhere = 'abandoned';
      action = await decide();
    }
    if (action === 'refresh') {
      const presented = record;
      try {
        if (this.#writesAhead) {
          // Write ahead: once the token is presented its answer may be lost (a store outage, a
          // crash), and no one may present it again. The record says so before it leaves.
          const marked: SessionRecord = {
            ...record,
            tokens: withoutRefreshToken(record.tokens),
            version: record.version + 1,
            refreshing: context.now() + this.#lockTtlMs(),
          };
          if (!(await context.write(key, marked, record))) return (await context.read(key)) ?? Promise.reject(context.noSession(key));
          record = marked;
        }
        const tokens = context.accept(await protocol.refresh(presented.tokens, client), 'refresh');
        const next = await this.#replace(key, slot, record, tokens);
        context.emit('refresh', {
          key,
          protocol: protocol.name,
          durationMs: context.now() - started,
          trigger,
          expiresAt: next.tokens.expiresAt,
        });
        return next;
      } catch (error) {
        if (!(error instanceof AuthError) || signal.aborted || error.code === 'STORE_UNAVAILABLE' || error.code === 'NOT_LOGGED_IN') {
          throw error instanceof AuthError ? context.failed(key, 'refresh', error) : error;
        }
        refreshError = error;
        facts.refreshFailure = refreshFailureOf(error, protocol.rotatesRefreshTokens);
        facts.refreshable = false;
        facts.refreshElsewhere = undefined;
        if (facts.refreshFailure !== 'transient' && presented.tokens.refreshToken !== undefined) {
          // A refused or possibly spent refresh token is never presented again, here or elsewhere.
          const spent = await this.#replace(key, slot, record, withoutRefreshToken(presented.tokens));
          if (spent.loginId !== record.loginId) return spent; // a newer login got there first
          record = spent;
        } else if (record !== presented) {
          // Not spent (the upstream said so): put it back for the next renewal, here or elsewhere.
          const restored = await this.#replace(key, slot, record, presented.tokens);
          if (restored.loginId !== record.loginId) return restored;
          record = restored;
        }
        action = await decide();
        context.failed(key, 'refresh', error);
      }
    }
    switch (action) {
      case 'fail':
        throw refreshError;
      case 'keep':
        return record;
      case 'end':
        // The call that found the end learns why (the refresh's own error); later calls get SESSION_EXPIRED.
        if (refreshError === undefined || facts.refreshFailure === 'refused') return context.end(key, record, endReason(facts));
        await context.end(key, record, endReason(facts)).catch(ignore);
        throw refreshError;
      default:
        return this.#relogin(key, slot, record, credentials!, started, client);
    }
  }

  async #relogin(
    key: string,
    slot: KeySlot,
    record: SessionRecord,
    credentials: Credentials,
    started: number,
    client: ReturnType<KeeperContext<Credentials>['client']>,
  ): Promise<SessionRecord> {
    const context = this.#context;
    const { protocol } = context;
    // After a switch, the new login binds the switched account, not the one the credentials name.
    const login =
      record.accountId !== undefined && protocol.withAccount ? protocol.withAccount(credentials, record.accountId) : credentials;
    let fresh: TokenSet;
    try {
      fresh = context.accept(await protocol.login(login, client), 'login');
    } catch (error) {
      if (error instanceof AuthError && error.code === 'INVALID_CREDENTIALS') {
        // Credentials that logged in before and are refused now: a password that expired under
        // the organisation's policy (or was changed). Every call says so until a person logs in.
        context.failed(key, 'login', error);
        return context.end(key, record, 'the upstream refused the stored credentials on re-login', 'STORED_CREDENTIALS_REFUSED');
      }
      if (error instanceof AuthError && (error.code === 'NO_ACTIVE_MEMBERSHIP' || error.code === 'ACCESS_DENIED')) {
        context.failed(key, 'login', error);
        await context.end(key, record, `re-login refused: ${error.code}`).catch(ignore);
        throw error; // the call that found the end learns why; later calls get SESSION_EXPIRED
      }
      throw context.failed(key, 'login', error);
    }
    const next = await this.#replace(key, slot, record, fresh);
    context.emit('login', { key, protocol: context.protocol.name, durationMs: context.now() - started, reason: 'relogin' });
    return next;
  }

  /**
   * Waits, under the lock, while another instance presents the refresh token: until the record
   * changes (its answer, or its end) or the time it gave itself passes. The store is read every
   * {@link AWAIT_POLL_MS}: this happens only after an instance lost its lock mid-refresh.
   */
  async #awaitRefreshElsewhere(key: string, record: SessionRecord, signal: AbortSignal): Promise<SessionRecord> {
    const context = this.#context;
    const until = record.refreshing ?? Number.NEGATIVE_INFINITY;
    for (let now = context.now(); now < until; now = context.now()) {
      await sleep(Math.min(AWAIT_POLL_MS, until - now), undefined, { signal, ref: false });
      const current = await context.read(key, signal);
      if (!current) throw context.noSession(key);
      if (current.loginId !== record.loginId || current.version !== record.version) return current;
    }
    return record;
  }

  /**
   * Tokens that could not be stored (the store was down when they arrived) are written as soon
   * as the store answers again, while the record still says this instance's refresh may answer:
   * another instance waits for them that long, then takes the stored refresh token for spent.
   */
  #storeWhenBack(key: string, slot: KeySlot, unsaved: SessionRecord, expected: SessionRecord): void {
    const context = this.#context;
    const until = expected.refreshing ?? context.now() + this.#lockTtlMs();
    const controller = new AbortController();
    this.#controllers.add(controller);
    void (async () => {
      while (context.now() < until) {
        await sleep(STORE_RETRY_MS, undefined, { signal: controller.signal, ref: false });
        // A renewal here stores them itself (see #run).
        if (slot.unsaved !== unsaved) return;
        if (slot.renewal !== undefined) continue;
        let written: boolean;
        try {
          written = await context.write(key, unsaved, expected);
        } catch {
          continue; // still down
        }
        if (slot.unsaved === unsaved) slot.unsaved = undefined;
        if (written) return this.#onRenewed(key, unsaved);
        // Someone else wrote first (a login, a logout, a renewal that gave up waiting): these belong to no session.
        const current = await context.read(key).catch(ignore);
        if (current?.tokens.accessToken !== unsaved.tokens.accessToken)
          context.protocol.logout(unsaved.tokens, context.client()).catch(ignore);
        return;
      }
    })()
      .catch(ignore)
      .finally(() => this.#controllers.delete(controller));
  }

  /** The credentials for a new login: the provider's, else remembered ones; a failing provider has its own code. */
  async #credentialsFor(key: string): Promise<Credentials | undefined> {
    const { options, protocol, vault } = this.#context;
    let provided: Credentials | undefined;
    try {
      provided = await options.credentials?.(key);
    } catch (error) {
      throw stateError('CREDENTIALS_UNAVAILABLE', { cause: error });
    }
    if (provided !== undefined) return protocol.checkCredentials(provided);
    return vault?.get(key);
  }

  /**
   * Stores renewed tokens unless someone else wrote first (a newer login, or another process):
   * then the tokens just issued belong to no session, and are logged out upstream. A logout that
   * began meanwhile is waiting for this renewal: it reads what is stored here and ends it.
   */
  async #replace(
    key: string,
    slot: KeySlot,
    previous: SessionRecord,
    tokens: TokenSet,
    accountId = previous.accountId,
  ): Promise<SessionRecord> {
    const context = this.#context;
    const record: SessionRecord = { tokens, version: previous.version + 1, loginId: previous.loginId, service: previous.service };
    if (accountId !== undefined) record.accountId = accountId;
    let written: boolean;
    try {
      written = await context.write(key, record, previous);
    } catch (error) {
      // The upstream has rotated already: these are stored once the store answers, or by the next
      // renewal here, instead of anyone presenting the spent refresh token.
      if (tokens.refreshToken !== previous.tokens.refreshToken) {
        slot.unsaved = record;
        this.#storeWhenBack(key, slot, record, previous);
      }
      throw error;
    }
    if (written) return record;
    if (tokens.accessToken !== previous.tokens.accessToken) context.protocol.logout(tokens, context.client()).catch(ignore);
    const current = await context.read(key);
    if (!current) throw context.noSession(key);
    return current;
  }
}

/** How often a renewal waiting for another instance's refresh reads the store. */
const AWAIT_POLL_MS = 100;
/** How often tokens that could not be stored are tried again. */
const STORE_RETRY_MS = 100;

function refreshElsewhereOf(record: SessionRecord, now: number): RenewalFacts['refreshElsewhere'] {
  if (record.refreshing === undefined) return undefined;
  return now < record.refreshing ? 'running' : 'abandoned';
}

function withoutRefreshToken(tokens: TokenSet): TokenSet {
  const { refreshToken: _spent, ...rest } = tokens;
  return rest;
}

function refreshFailureOf(error: AuthError, rotates: boolean): NonNullable<RenewalFacts['refreshFailure']> {
  if (error.code === 'SESSION_EXPIRED') return 'refused';
  return rotates && error.upstream?.outcomeUnknown === true ? 'unknown' : 'transient';
}

function endReason(facts: RenewalFacts): string {
  if (facts.refreshElsewhere === 'abandoned')
    return "another instance's refresh did not store an answer in time: its refresh token may be spent";
  if (facts.refreshFailure === 'refused') return 'the upstream refused to renew the session';
  if (facts.refreshFailure === 'unknown') return 'the refresh outcome is unknown';
  if (facts.rejected) return 'the upstream rejected the token and cannot renew it';
  return 'the token expired and the upstream cannot renew it';
}
