import type { Clock, ClockTimer } from './clock.js';

interface Due {
  key: string;
  dueAt: number;
}

export interface SchedulerOptions {
  clock: Clock;
  /** At most this many `run` calls at once. */
  concurrency: number;
  /** Renews one session; must not reject. */
  run(key: string): Promise<void>;
}

/**
 * One timer for every keep-alive: a min-heap of due times, armed for the earliest. When the
 * timer fires late (a stall, a sleeping laptop) every overdue session is found from the clock
 * and renewed, at most `concurrency` at a time. Rescheduling leaves the old heap entry behind;
 * it is skipped when popped because `#dueAt` no longer names it.
 */
export class KeepAliveScheduler {
  readonly #options: SchedulerOptions;
  readonly #heap: Due[] = [];
  readonly #dueAt = new Map<string, number>();
  #timer: ClockTimer | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #running = 0;
  #firing = false;
  #closed = false;

  constructor(options: SchedulerOptions) {
    this.#options = options;
  }

  /** Runs `key` at `dueAt`, replacing any earlier plan for it. */
  schedule(key: string, dueAt: number): void {
    if (this.#closed) return;
    this.#dueAt.set(key, dueAt);
    this.#push({ key, dueAt });
    // Replans and cancellations leave stale entries; past twice the live plans, start afresh.
    if (this.#heap.length > 2 * this.#dueAt.size + 64) this.#compact();
    this.#arm();
  }

  /** Heap entries, stale ones included (bounded at about twice {@link size}). */
  get heapLength(): number {
    return this.#heap.length;
  }

  #compact(): void {
    this.#heap.length = 0;
    for (const [key, dueAt] of this.#dueAt) this.#push({ key, dueAt });
  }

  cancel(key: string): void {
    this.#dueAt.delete(key);
  }

  /** Sessions with a keep-alive planned. */
  get size(): number {
    return this.#dueAt.size;
  }

  /** Keep-alive renewals running now. */
  get running(): number {
    return this.#running;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#heap.length = 0;
    this.#dueAt.clear();
  }

  #arm(): void {
    this.#dropStale();
    const next = this.#heap[0];
    if (this.#closed || !next || this.#running >= this.#options.concurrency) return;
    if (this.#timer !== undefined && this.#timerAt <= next.dueAt) return;
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const delayMs = next.dueAt - this.#options.clock.now();
    this.#timerAt = next.dueAt;
    // Overdue work goes on at once (a freed slot after a stall), not on a timer a test clock may hold back.
    if (delayMs > 0) {
      this.#timer = this.#options.clock.setTimeout(() => this.#fire(), delayMs);
    } else if (!this.#firing) {
      this.#firing = true;
      queueMicrotask(() => this.#fire());
    }
  }

  #fire(): void {
    this.#timer = undefined;
    this.#firing = false;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = this.#options.clock.now();
    while (!this.#closed && this.#running < this.#options.concurrency) {
      this.#dropStale();
      const next = this.#heap[0];
      if (!next || next.dueAt > now) break;
      this.#pop();
      this.#dueAt.delete(next.key);
      this.#running++;
      void this.#options.run(next.key).finally(() => {
        this.#running--;
        this.#arm();
      });
    }
    this.#arm();
  }

  #dropStale(): void {
    let top = this.#heap[0];
    while (top && this.#dueAt.get(top.key) !== top.dueAt) {
      this.#pop();
      top = this.#heap[0];
    }
  }

  #push(entry: Due): void {
    const heap = this.#heap;
    heap.push(entry);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (heap[parent]!.dueAt <= entry.dueAt) break;
      heap[index] = heap[parent]!;
      index = parent;
    }
    heap[index] = entry;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.dueAt < heap[left]!.dueAt ? right : left;
      if (heap[child]!.dueAt >= last.dueAt) break;
      heap[index] = heap[child]!;
      index = child;
    }
    heap[index] = last;
  }
}
