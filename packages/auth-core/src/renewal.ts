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
    return options.lock.acquire(key, {
      // Long enough for a refresh and a re-login, short enough that a crashed holder's lock
      // frees itself while the others are still waiting.
      ttlMs: Math.min(options.renewalTimeoutMs / 2, 2 * options.timeoutMs + 2_000),
      waitMs: options.renewalTimeoutMs,
      signal,
    });
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
    if (action === 'refresh') {
      try {
        const tokens = context.accept(await protocol.refresh(record.tokens, client), 'refresh');
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
        if (facts.refreshFailure !== 'transient' && record.tokens.refreshToken !== undefined) {
          // A refused or possibly spent refresh token is never presented again, here or elsewhere.
          const spent = await this.#replace(key, slot, record, { ...record.tokens, refreshToken: undefined });
          if (spent.loginId !== record.loginId) return spent; // a newer login got there first
          record = spent;
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
      // The upstream has rotated already: the next renewal stores these instead of presenting the spent refresh token.
      if (tokens.refreshToken !== previous.tokens.refreshToken) slot.unsaved = record;
      throw error;
    }
    if (written) return record;
    if (tokens.accessToken !== previous.tokens.accessToken) context.protocol.logout(tokens, context.client()).catch(ignore);
    const current = await context.read(key);
    if (!current) throw context.noSession(key);
    return current;
  }
}

function refreshFailureOf(error: AuthError, rotates: boolean): NonNullable<RenewalFacts['refreshFailure']> {
  if (error.code === 'SESSION_EXPIRED') return 'refused';
  return rotates && error.upstream?.outcomeUnknown === true ? 'unknown' : 'transient';
}

function endReason(facts: RenewalFacts): string {
  if (facts.refreshFailure === 'refused') return 'the upstream refused to renew the session';
  if (facts.refreshFailure === 'unknown') return 'the refresh outcome is unknown';
  if (facts.rejected) return 'the upstream rejected the token and cannot renew it';
  return 'the token expired and the upstream cannot renew it';
}
