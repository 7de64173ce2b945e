import { LRUCache } from 'lru-cache';
import type { SessionRecord } from './store/store.js';

/** What a call to an ended session is told. */
export type EndedCode = 'SESSION_EXPIRED' | 'STORED_CREDENTIALS_REFUSED';

/**
 * What this process knows of one session key besides its stored record. One slot per key, in
 * one LRU: when a key leaves it (eviction, or {@link KeySlots.forget}), everything else this
 * process planned for the key — its keep-alive, its remembered credentials — goes with it.
 */
export interface KeySlot {
  /** Last request for this key, on the keeper's clock (idle user sessions stop being kept alive). */
  usedAt: number;
  /** Last failed renewal here; `-Infinity` when none did. */
  failedAt: number;
  /** The upstream asked not to be called before this time (its `Retry-After`); `-Infinity` when it did not. */
  retryAt: number;
  /** When a rejection last renewed this session, and the version it renewed; `-Infinity` and 0 when none did. */
  rejectionRenewedAt: number;
  rejectionRenewedVersion: number;
  /** Single flight for logins: the one login with these credentials running for this key. */
  login: { fingerprint: string; promise: Promise<SessionRecord> } | undefined;
  /** Single flight: the one renewal of this key running in this process. */
  renewal: Promise<SessionRecord> | undefined;
  /** The account switch of this key running (or queued) in this process; renewals and logouts wait for it. */
  switching: Promise<SessionRecord> | undefined;
  /** The logout sequence number of this key's latest logout; logins and renewals that began before it lost. */
  loggedOutAt: number;
  /** Logouts of this key running now: requests get `NOT_LOGGED_IN` meanwhile. */
  loggingOut: number;
  /** Why the session ended, until a new login or a logout: every call meanwhile gets `SESSION_EXPIRED`. */
  ended: string | undefined;
  /** The code calls get while the session is ended: `SESSION_EXPIRED`, or why a re-login could not replace it. */
  endedCode: EndedCode;
  /** The credentials provider answered `undefined` for this key: plan renewals without a re-login. */
  noCredentials: boolean;
  /** Keep-alive let this idle session go; its next request plans it again. */
  idle: boolean;
  /**
   * Tokens a renewal got but could not store (a store outage): the stored record's refresh token
   * is spent upstream, so the next renewal writes these instead of presenting it again.
   */
  unsaved: SessionRecord | undefined;
}

export class KeySlots {
  readonly #slots: LRUCache<string, KeySlot>;

  /** @param onForget Called once for each key that leaves (evicted or forgotten). */
  constructor(max: number, onForget: (key: string) => void) {
    this.#slots = new LRUCache({
      max,
      dispose: (_slot, key, reason) => {
        if (reason !== 'set') onForget(key);
      },
    });
  }

  /** The slot of `key` without counting a use. */
  peek(key: string): KeySlot | undefined {
    return this.#slots.peek(key);
  }

  /** The slot of `key` (a use, for the LRU), made if there is none; `made` says so. */
  get(key: string, now: number): KeySlot {
    let slot = this.#slots.get(key);
    if (slot) return slot;
    slot = {
      usedAt: now,
      failedAt: Number.NEGATIVE_INFINITY,
      retryAt: Number.NEGATIVE_INFINITY,
      rejectionRenewedAt: Number.NEGATIVE_INFINITY,
      rejectionRenewedVersion: 0,
      renewal: undefined,
      switching: undefined,
      login: undefined,
      loggedOutAt: 0,
      loggingOut: 0,
      ended: undefined,
      endedCode: 'SESSION_EXPIRED',
      noCredentials: false,
      idle: true,
      unsaved: undefined,
    };
    this.#slots.set(key, slot);
    return slot;
  }

  forget(key: string): void {
    this.#slots.delete(key);
  }

  get size(): number {
    return this.#slots.size;
  }

  /** Renewals running now, over every key. */
  get renewing(): number {
    let count = 0;
    for (const slot of this.#slots.values()) if (slot.renewal) count++;
    return count;
  }

  /** Resolves once no renewal runs in this process (for tests on a manual clock, and for shutdown). */
  async settled(): Promise<void> {
    for (;;) {
      const running = [...this.#slots.values()].flatMap((slot) => [slot.renewal, slot.switching].filter((flight) => flight !== undefined));
      if (running.length === 0) return;
      await Promise.allSettled(running);
    }
  }

  clear(): void {
    this.#slots.clear();
  }
}
