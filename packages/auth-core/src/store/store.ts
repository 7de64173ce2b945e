import type { TokenSet } from '../tokens.js';

/** One session as a store keeps it. Holds tokens: stores must keep it out of logs. */
export interface SessionRecord {
  tokens: TokenSet;
  /** Grows by one on every renewal; with `loginId`, what a compare-and-set compares. */
  version: number;
  /** Random per login, so a renewal of an earlier login can never overwrite a later one. */
  loginId: string;
  /** Service sessions are kept alive forever; user sessions until `idleMs` without use. */
  service: boolean;
  /** The account `switchAccount` bound the session to, so that a re-login binds it again; absent until a switch. */
  accountId?: number;
  /**
   * Written before a rotating refresh token is presented, in a record that no longer holds it:
   * an instance is presenting it, and may store the answer until this time (epoch ms). Another
   * instance waits for that answer meanwhile, and afterwards takes the refresh token for spent.
   * A store keeps it with the record; one that drops it only makes the others take the token
   * for spent at once.
   */
  refreshing?: number;
}

/** What a compare-and-set expects to find. */
export interface RecordVersion {
  loginId: string;
  version: number;
}

/** How a store may answer a read. */
export interface StoreReadOptions {
  /**
   * The caller can use an answer from a copy the store keeps in this process and drops when the
   * shared record changes (a near cache), and so is up to a moment behind another instance's
   * write. Only the request path says so: it sends the access token it is given, and a token
   * replaced meanwhile comes back as the expiry signal, whose handling reads the store again.
   * Every other read (before a renewal, a refresh, a switch or a logout) omits it and must see
   * the shared record itself: it may present the refresh token it finds. A store without a
   * near cache ignores it.
   */
  cached?: boolean;
}

/**
 * Where sessions live. `MemoryStore` is the default; `@tokenkeeper/redis` shares sessions
 * between instances. Methods may answer synchronously (the memory store does, which keeps
 * `session.token()` free of store promises) or with a promise.
 */
export interface SessionStore {
  get(key: string, options?: StoreReadOptions): SessionRecord | undefined | Promise<SessionRecord | undefined>;
  /**
   * Writes `record` when the stored one matches `expected` (`null`: write whatever is there)
   * and answers whether it wrote. `ttlMs` is how long the record is worth keeping.
   */
  set(key: string, record: SessionRecord, expected: RecordVersion | null, ttlMs: number): boolean | Promise<boolean>;
  /** Deletes the record; with `expected`, only when it still belongs to that login. */
  delete(key: string, expected?: Pick<RecordVersion, 'loginId'>): void | Promise<void>;
  /** Releases connections; called by `keeper.close()` only for a store the keeper created. */
  close?(): void | Promise<void>;
}

/** A lock that makes renewals single-flight across processes (in-process single flight needs none). */
export interface Lock {
  /**
   * Resolves with a release function once the lock on `key` is held. Throws
   * `AuthError('TIMEOUT')` after `waitMs`, and rejects with the signal's reason when aborted.
   * The lock frees itself after `ttlMs` even if never released.
   */
  acquire(key: string, options: { ttlMs: number; waitMs: number; signal?: AbortSignal }): Promise<() => Promise<void>>;
}
