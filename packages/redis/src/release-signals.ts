import type { RedisClient } from './connection.js';

/**
 * Wakes lock waiters when a holder releases: the release script publishes on the lock key's
 * channel, and one subscriber connection (opened on the first wait, closed with the
 * connection) tells every waiter of that lock in this process. Classic pub/sub reaches every
 * node of a Cluster. A message can still be missed (the subscriber reconnecting, a failover), so
 * a waiter also wakes when the lock's TTL runs out and after a longest pause.
 */
export class ReleaseSignals {
  readonly #open: () => RedisClient;
  readonly #timeoutMs: number;
  #subscriber: RedisClient | undefined;
  readonly #waiting = new Map<string, Set<Subscription>>();
  /** The SUBSCRIBE of each channel listened to: a later waiter awaits it too, so it misses no release. */
  readonly #subscribed = new Map<string, Promise<void>>();
  #closed = false;

  /** `open` makes the subscriber connection (a duplicate of the command connection). */
  constructor(open: () => RedisClient, timeoutMs: number) {
    this.#open = open;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Listens for releases of one lock. Resolves once subscribed (or once subscribing failed or
   * took longer than the command timeout: the waiter then falls back to its pauses).
   */
  async subscribe(channel: string): Promise<Subscription> {
    const subscription = new Subscription(() => this.#leave(channel, subscription));
    if (this.#closed) return subscription;
    const listeners = this.#waiting.get(channel) ?? new Set<Subscription>();
    this.#waiting.set(channel, listeners);
    listeners.add(subscription);
    let subscribed = this.#subscribed.get(channel);
    if (!subscribed) {
      subscribed = this.#send((subscriber) => subscriber.subscribe(channel));
      this.#subscribed.set(channel, subscribed);
    }
    await subscribed;
    return subscription;
  }

  /** Ends the subscriber connection; waiters fall back to their pauses. */
  close(): void {
    this.#closed = true;
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
  }

  #leave(channel: string, subscription: Subscription): void {
    const listeners = this.#waiting.get(channel);
    if (!listeners?.delete(subscription) || listeners.size > 0) return;
    this.#waiting.delete(channel);
    this.#subscribed.delete(channel);
    if (this.#subscriber) void this.#send((subscriber) => subscriber.unsubscribe(channel));
  }

  #connection(): RedisClient {
    if (this.#subscriber) return this.#subscriber;
    const subscriber = this.#open();
    subscriber.on('error', ignore);
    subscriber.on('message', (channel: string) => {
      for (const subscription of this.#waiting.get(channel) ?? []) subscription.wake();
    });
    // After a reconnect ioredis subscribes again by itself; a release meanwhile is missed, which the pauses cover.
    this.#subscriber = subscriber;
    return subscriber;
  }

  /** A subscriber command, bounded by the command timeout; a failure only costs promptness. */
  async #send(command: (subscriber: RedisClient) => Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#timeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([command(this.#connection()).then(ignore, ignore), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** One waiter's interest in one lock. */
export class Subscription {
  readonly #leave: () => void;
  /** A release seen since the last `next()`: not lost if it comes between an attempt and the wait. */
  #released = false;
  #wake: (() => void) | undefined;

  constructor(leave: () => void) {
    this.#leave = leave;
  }

  wake(): void {
    this.#released = true;
    this.#wake?.();
  }

  /** Resolves on the next release (or one seen since the last call), after `ms`, or rejects on abort. */
  next(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#released) {
      this.#released = false;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#wake = undefined;
        this.#released = false;
      };
      const onAbort = () => {
        done();
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        done();
        resolve();
      }, ms);
      this.#wake = () => {
        done();
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Stops listening. */
  end(): void {
    this.#wake = undefined;
    this.#leave();
  }
}

function ignore(): void {}
