import type { AuthError, UpstreamDetails } from './errors.js';

/** What every event carries. */
export interface EventBase {
  /** The session key. */
  key: string;
  /** The protocol's name. */
  protocol: string;
}

/** What the keeper reports. Payloads never hold a token, refresh token or password. */
export interface TokenKeeperEvents {
  login: EventBase & { durationMs: number; reason: 'login' | 'relogin' };
  refresh: EventBase & { durationMs: number; trigger: RenewalTrigger; expiresAt: number };
  /**
   * The session ended: nothing could renew it. `code` is what calls get until the next login:
   * `SESSION_EXPIRED`, or `STORED_CREDENTIALS_REFUSED` when a new login with the stored
   * credentials was refused (a password that expired under the organisation's policy).
   */
  expired: EventBase & { reason: string; code: 'SESSION_EXPIRED' | 'STORED_CREDENTIALS_REFUSED' };
  logout: EventBase & { durationMs: number };
  /** `session.switchAccount` bound the session to another account of the user; the new tokens replaced the old under the same key. */
  switch: EventBase & { durationMs: number; accountId: number };
  /**
   * The upstream answered the expiry signal and the request is about to be retried once with a
   * new token (`renewed`: this call renewed the session, else it found a newer token). Not emitted
   * when the renewal failed or the rejection was handed back (`rejectionBackoffMs`).
   */
  retry: EventBase & { renewed: boolean };
  error: EventBase & { operation: UpstreamDetails['operation'] | 'keep-alive'; error: AuthError };
}

/** Why a renewal ran: the scheduler, a request in the refresh window, an expired token, or an upstream rejection. */
export type RenewalTrigger = 'keep-alive' | 'proactive' | 'expired' | 'rejected';

export type TokenKeeperEventName = keyof TokenKeeperEvents;
type Listener<Name extends TokenKeeperEventName> = (event: TokenKeeperEvents[Name]) => void;

/** A small typed emitter: a throwing listener is isolated, and `error` with no listener is fine. */
export class KeeperEvents {
  readonly #listeners: { [Name in TokenKeeperEventName]?: Set<Listener<Name>> } = {};

  on<Name extends TokenKeeperEventName>(name: Name, listener: Listener<Name>): () => void {
    let set = this.#listeners[name] as Set<Listener<Name>> | undefined;
    if (!set) {
      set = new Set();
      (this.#listeners as Record<string, Set<Listener<Name>>>)[name] = set;
    }
    set.add(listener);
    return () => this.off(name, listener);
  }

  off<Name extends TokenKeeperEventName>(name: Name, listener: Listener<Name>): void {
    (this.#listeners[name] as Set<Listener<Name>> | undefined)?.delete(listener);
  }

  emit<Name extends TokenKeeperEventName>(name: Name, event: TokenKeeperEvents[Name]): void {
    const set = this.#listeners[name] as Set<Listener<Name>> | undefined;
    if (!set) return;
    for (const listener of set) {
      try {
        listener(event);
      } catch {
        // A listener's failure is the listener's; it must not break a renewal.
      }
    }
  }

  listenerCount(name: TokenKeeperEventName): number {
    return this.#listeners[name]?.size ?? 0;
  }

  clear(): void {
    for (const name of Object.keys(this.#listeners) as TokenKeeperEventName[]) delete this.#listeners[name];
  }
}
