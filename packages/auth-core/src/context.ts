import { randomBytes } from 'node:crypto';
import { untilAborted } from './abort.js';
import { eventChannel } from './diagnostics.js';
import { AuthError, stateError, toAuthError } from './errors.js';
import { KeeperEvents, type TokenKeeperEventName, type TokenKeeperEvents } from './events.js';
import { createUpstreamClient, type UpstreamClient } from './http.js';
import type { NormalizedOptions } from './options.js';
import type { SessionFacts } from './policy.js';
import type { Protocol } from './protocols/protocol.js';
import { type EndedCode, type KeySlot, KeySlots } from './slots.js';
import type { SessionRecord } from './store/store.js';
import { acceptTokens, type TokenSet } from './tokens.js';
import { CredentialVault } from './vault.js';

/**
 * What the keeper's parts share: options, protocol, the per-key slots, store calls that answer
 * `STORE_UNAVAILABLE`, the upstream client and events. It decides nothing.
 */
export class KeeperContext<Credentials> {
  readonly options: NormalizedOptions<Credentials>;
  readonly protocol: Protocol<Credentials>;
  readonly events = new KeeperEvents();
  readonly slots: KeySlots;
  readonly vault: CredentialVault<Credentials> | undefined;
  /** A lifetime the upstream showed by rejecting tokens early; shortens the next tokens' planned expiry. */
  learnedLifetimeMs: number | undefined;
  /** Grows at every logout, so a login or renewal can tell whether one happened since it began. */
  logoutSequence = 0;
  closed = false;

  constructor(options: NormalizedOptions<Credentials>, onForget: (key: string) => void) {
    this.options = options;
    this.protocol = options.protocol;
    this.vault = options.rememberCredentials
      ? new CredentialVault(options.maxSessions, options.idleMs + options.retainExpiredMs)
      : undefined;
    this.slots = new KeySlots(options.maxSessions, (key) => {
      this.vault?.delete(key);
      onForget(key);
    });
  }

  now(): number {
    return this.options.clock.now();
  }

  /** The facts the policy needs about a session, from its slot and tokens. */
  factsOf(key: string, slot: KeySlot, record: SessionRecord, now: number): SessionFacts {
    return {
      renewing: slot.renewal !== undefined,
      failedAt: slot.failedAt,
      retryAt: slot.retryAt,
      refreshable: this.refreshable(record.tokens, now),
      credentials: this.mayHaveCredentials(key) && !slot.noCredentials,
      refreshingElsewhere: record.refreshing !== undefined && now < record.refreshing,
    };
  }

  /** The protocol can refresh, and a rotating refresh token is still there (a spent one is dropped from the record). */
  refreshable(tokens: TokenSet, now: number): boolean {
    if (!this.protocol.canRefresh(tokens, now)) return false;
    return !this.protocol.rotatesRefreshTokens || tokens.refreshToken !== undefined;
  }

  /** A provider is configured, or this key's credentials were remembered. */
  mayHaveCredentials(key: string): boolean {
    return this.options.credentials !== undefined || this.vault?.has(key) === true;
  }

  /** The error for a key with no stored session: ended sessions say so until a new login or a logout. */
  noSession(key: string): AuthError {
    const slot = this.slots.peek(key);
    return slot?.ended === undefined ? stateError('NOT_LOGGED_IN') : stateError(slot.endedCode);
  }

  /** Checks a protocol's token set and applies what the keeper knows of the upstream's lifetimes. */
  accept(tokens: TokenSet, operation: 'login' | 'refresh'): TokenSet {
    return acceptTokens(tokens, operation, this.learnedLifetimeMs);
  }

  client(signal?: AbortSignal): UpstreamClient {
    return createUpstreamClient({
      fetch: this.options.fetch,
      timeoutMs: this.options.timeoutMs,
      maxBodyBytes: this.options.maxBodyBytes,
      now: this.options.clock.now,
      signal,
      errorBodyPreview: this.options.errorBodyPreview,
    });
  }

  /** A store read, a logout's tombstone read as no session; the caller's signal stops the wait (the store bounds the call itself). */
  async read(key: string, signal?: AbortSignal | null): Promise<SessionRecord | undefined> {
    const record = await this.readRaw(key, signal);
    return record && isTombstone(record) ? undefined : record;
  }

  readRaw(key: string, signal?: AbortSignal | null): Promise<SessionRecord | undefined> {
    return untilAborted(
      storeCall(() => this.options.store.get(key)),
      signal,
    );
  }

  /** A compare-and-set write against `previous` (`null`: whatever is there); answers whether it wrote. */
  write(key: string, record: SessionRecord, previous: SessionRecord | null, ttlMs = this.#ttlOf(record.tokens)): Promise<boolean> {
    const expected = previous && { loginId: previous.loginId, version: previous.version };
    return storeCall(() => this.options.store.set(key, record, expected, ttlMs));
  }

  /**
   * Marks `key` logged out in the store for as long as a login still answering elsewhere can take,
   * so that another instance's login that began before the logout loses there too.
   */
  async tombstone(key: string): Promise<void> {
    // A store this keeper made is shared with no other instance: the slots' logout epoch is enough,
    // and tombstones there would only take the LRU's room.
    if (this.options.ownsStore) return;
    const now = this.now();
    const record: SessionRecord = {
      // A random mark, so a login can tell a tombstone written while it ran from an older one.
      tokens: { accessToken: `logged-out.${randomBytes(9).toString('base64url')}`, issuedAt: now, expiresAt: now + 1 },
      version: 1,
      loginId: TOMBSTONE,
      service: false,
    };
    await this.write(key, record, null, this.options.timeoutMs + this.options.renewalTimeoutMs);
  }

  delete(key: string, loginId?: string): Promise<void> {
    return storeCall(() => this.options.store.delete(key, loginId === undefined ? undefined : { loginId }));
  }

  #ttlOf(tokens: TokenSet): number {
    const lastUseful = Math.max(tokens.expiresAt, tokens.refreshExpiresAt ?? 0);
    return lastUseful - this.now() + this.options.retainExpiredMs;
  }

  /** Reports a failed upstream call as an `error` event and returns it; an abort reason passes unreported. */
  failed(key: string, operation: 'login' | 'refresh' | 'logout' | 'switch', error: unknown): unknown {
    if (error instanceof AuthError) this.emit('error', { key, protocol: this.protocol.name, operation, error });
    return error;
  }

  emit<Name extends TokenKeeperEventName>(name: Name, event: TokenKeeperEvents[Name]): void {
    this.events.emit(name, event);
    if (eventChannel.hasSubscribers) eventChannel.publish({ name, event });
  }

  /** Ends a session nothing can renew: deleted here, remembered as ended, reported once. */
  async end(key: string, record: SessionRecord, reason: string, code: EndedCode = 'SESSION_EXPIRED'): Promise<never> {
    const slot = this.slots.get(key, this.now());
    const first = slot.ended === undefined;
    slot.ended = reason;
    slot.endedCode = code;
    this.vault?.delete(key);
    await this.delete(key, record.loginId);
    if (first) this.emit('expired', { key, protocol: this.protocol.name, reason, code });
    throw stateError(code);
  }
}

/** The loginId of a logout's tombstone: a record that says "logged out at tokens.issuedAt". */
export const TOMBSTONE = '~logged-out';

export function isTombstone(record: SessionRecord): boolean {
  return record.loginId === TOMBSTONE;
}

export async function storeCall<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toAuthError(error, 'STORE_UNAVAILABLE', 'the session store failed');
  }
}

export function ignore(): void {}
