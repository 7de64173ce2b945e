/**
 * What this process has seen of each session: the newest (loginId, version) and the logins it
 * has seen replaced or ended. Sealing stops anyone without the key from forging a session, but
 * not from putting back an older sealed (loginId, version, data) triple they saved: that is
 * valid ciphertext. Remembering versions lets the store refuse such a rollback, within one
 * process and for the sessions it remembers (a bounded LRU).
 */

interface Seen {
  loginId: string;
  version: number;
  /** Logins of this session that were replaced or ended: none of them can come back. */
  retired: string[];
}

/** Retired logins kept per session; one is the common case (logout, log in again). */
const MAX_RETIRED = 8;

export class SeenVersions {
  readonly #max: number;
  readonly #entries = new Map<string, Seen>();

  constructor(max: number) {
    this.#max = max;
  }

  /**
   * What had been seen of a session when a read was sent: the read is checked against this, not
   * against writes answered while it was in flight (it may rightly answer the version before them).
   */
  before(key: string): Readonly<Seen> | undefined {
    const seen = this.#entries.get(key);
    return seen && { loginId: seen.loginId, version: seen.version, retired: [...seen.retired] };
  }

  /** Whether a read of (loginId, version) goes back behind what was seen before it was sent; if not, remembers it. */
  isRollback(key: string, before: Readonly<Seen> | undefined, loginId: string, version: number): boolean {
    if (before && ((before.loginId === loginId && version < before.version) || before.retired.includes(loginId))) return true;
    this.note(key, loginId, version);
    return false;
  }

  /** Remembers a version read or written. */
  note(key: string, loginId: string, version: number): void {
    if (this.#max === 0) return;
    const seen = this.#entries.get(key) ?? { loginId, version, retired: [] };
    if (seen.loginId === loginId) seen.version = Math.max(seen.version, version);
    else {
      retire(seen, seen.loginId);
      seen.loginId = loginId;
      seen.version = version;
    }
    this.#remember(key, seen);
  }

  /** Remembers that a login of this session ended (a delete): it may not come back. */
  ended(key: string, loginId?: string): void {
    const seen = this.#entries.get(key);
    if (seen) retire(seen, loginId ?? seen.loginId);
  }

  /** Moves the entry to the young end of the LRU, dropping the oldest beyond the bound. */
  #remember(key: string, seen: Seen): void {
    this.#entries.delete(key);
    this.#entries.set(key, seen);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string);
  }
}

function retire(seen: Seen, loginId: string): void {
  if (seen.retired.includes(loginId)) return;
  seen.retired.push(loginId);
  if (seen.retired.length > MAX_RETIRED) seen.retired.shift();
}
