import type { KeeperContext } from './context.js';
import { nextRenewalAt, windowOf } from './policy.js';
import type { Renewals } from './renewal.js';
import { KeepAliveScheduler } from './scheduler.js';
import type { SessionRecord } from './store/store.js';
import type { TokenSet } from './tokens.js';

/**
 * Keep-alive: sessions in use are renewed in the background before they expire, by one
 * scheduler timer. A user session unused for `idleMs` is let go (its next request plans it
 * again); a plan dies with its key's slot.
 */
export class KeepAlive<Credentials> {
  readonly #context: KeeperContext<Credentials>;
  readonly #renewals: () => Renewals<Credentials>;
  readonly #scheduler: KeepAliveScheduler;

  constructor(context: KeeperContext<Credentials>, renewals: () => Renewals<Credentials>) {
    this.#context = context;
    this.#renewals = renewals;
    this.#scheduler = new KeepAliveScheduler({
      clock: context.options.clock,
      concurrency: context.options.keepAliveConcurrency,
      run: (key) => this.#run(key),
    });
  }

  /** Plans the next renewal of `key`, jittered so that sessions logged in together spread out. */
  plan(key: string, record: SessionRecord): void {
    const context = this.#context;
    if (!context.options.keepAlive || context.closed) return;
    const slot = context.slots.peek(key);
    if (!slot) return;
    slot.idle = false;
    const dueAt = nextRenewalAt(record.tokens, context.factsOf(key, slot, record, context.now()), context.options);
    if (dueAt === undefined) {
      this.#scheduler.cancel(key);
      return;
    }
    this.#scheduler.schedule(key, dueAt - Math.random() * this.#jitterOf(record.tokens));
  }

  cancel(key: string): void {
    this.#scheduler.cancel(key);
  }

  get planned(): number {
    return this.#scheduler.size;
  }

  get running(): number {
    return this.#scheduler.running;
  }

  close(): void {
    this.#scheduler.close();
  }

  #jitterOf(tokens: TokenSet): number {
    return Math.min(this.#context.options.keepAliveJitterMs, windowOf(tokens, this.#context.options) / 2);
  }

  async #run(key: string): Promise<void> {
    const context = this.#context;
    const slot = context.slots.peek(key);
    if (!slot || context.closed) return;
    try {
      const record = await context.read(key);
      if (!record) return;
      const now = context.now();
      // An idle user session is let go; its next request plans keep-alive again.
      if (!record.service && now - slot.usedAt >= context.options.idleMs) {
        slot.idle = true;
        return;
      }
      const facts = context.factsOf(key, slot, record, now);
      if (facts.renewing) return; // that renewal plans the next keep-alive when it settles
      const dueAt = nextRenewalAt(record.tokens, facts, context.options);
      if (dueAt === undefined) return; // nothing can renew it: the next request finds the session ended
      // Earlier than any jittered plan for these tokens (renewed elsewhere meanwhile): plan again.
      if (now < dueAt - this.#jitterOf(record.tokens)) return this.plan(key, record);
      // The renewal plans the next keep-alive itself once it settles.
      await this.#renewals().renew(key, record, 'keep-alive');
    } catch {
      // Already reported as an event; try again soon if the session is still kept here.
      if (!context.closed && context.slots.peek(key) === slot) {
        this.#scheduler.schedule(key, context.now() + context.options.retryIntervalMs);
      }
    }
  }
}
