import { describe, expect, it } from 'vitest';
import type { Clock } from '../src/clock.js';
import { KeepAliveScheduler } from '../src/scheduler.js';

/** A tiny manual clock: the scheduler is tested on its own, without the testing package. */
function manualClock(start = 1_000_000) {
  let now = start;
  let timers: { at: number; callback: () => void; id: number }[] = [];
  let ids = 0;
  const clock: Clock & { advance(ms: number): void; timers(): number } = {
    now: () => now,
    setTimeout(callback, delayMs) {
      const id = ++ids;
      timers.push({ at: now + delayMs, callback, id });
      return id;
    },
    clearTimeout(id) {
      timers = timers.filter((timer) => timer.id !== id);
    },
    advance(ms) {
      now += ms;
      const due = timers.filter((timer) => timer.at <= now).sort((a, b) => a.at - b.at);
      timers = timers.filter((timer) => timer.at > now);
      for (const timer of due) timer.callback();
    },
    timers: () => timers.length,
  };
  return clock;
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('KeepAliveScheduler', () => {
  it('runs sessions in the order they are due, on one timer', async () => {
    const clock = manualClock();
    const ran: string[] = [];
    const scheduler = new KeepAliveScheduler({ clock, concurrency: 10, run: async (key) => void ran.push(key) });
    scheduler.schedule('c', clock.now() + 300);
    scheduler.schedule('a', clock.now() + 100);
    scheduler.schedule('b', clock.now() + 200);
    expect(clock.timers()).toBe(1);
    clock.advance(150);
    await flush();
    expect(ran).toEqual(['a']);
    clock.advance(1_000);
    await flush();
    expect(ran).toEqual(['a', 'b', 'c']);
  });

  it('replaces an earlier plan for the same key instead of running it twice', async () => {
    const clock = manualClock();
    const ran: string[] = [];
    const scheduler = new KeepAliveScheduler({ clock, concurrency: 10, run: async (key) => void ran.push(key) });
    scheduler.schedule('a', clock.now() + 100);
    scheduler.schedule('a', clock.now() + 500);
    clock.advance(200);
    await flush();
    expect(ran).toEqual([]);
    clock.advance(400);
    await flush();
    expect(ran).toEqual(['a']);
  });

  it('runs every overdue session after a stall, never more than the concurrency bound at once', async () => {
    const clock = manualClock();
    let running = 0;
    let peak = 0;
    const done: string[] = [];
    const releases: (() => void)[] = [];
    const scheduler = new KeepAliveScheduler({
      clock,
      concurrency: 3,
      run: (key) =>
        new Promise<void>((resolve) => {
          running++;
          peak = Math.max(peak, running);
          releases.push(() => {
            running--;
            done.push(key);
            resolve();
          });
        }),
    });
    for (let index = 0; index < 10; index++) scheduler.schedule(`s${index}`, clock.now() + 1_000 + index);
    clock.advance(60_000); // the event loop was stalled for a minute
    while (done.length < 10) {
      await flush();
      for (const release of releases.splice(0)) release();
      await flush();
    }
    expect(peak).toBe(3);
    expect(done).toHaveLength(10);
  });

  it('forgets cancelled sessions and stops its timer on close', async () => {
    const clock = manualClock();
    const ran: string[] = [];
    const scheduler = new KeepAliveScheduler({ clock, concurrency: 2, run: async (key) => void ran.push(key) });
    scheduler.schedule('a', clock.now() + 100);
    scheduler.schedule('b', clock.now() + 100);
    scheduler.cancel('a');
    scheduler.close();
    expect(clock.timers()).toBe(0);
    clock.advance(1_000);
    await flush();
    expect(ran).toEqual([]);
  });
});

describe('stale heap entries', () => {
  it('compacts replanned and cancelled entries: 100,000 plans replanned and cancelled leave a heap about twice the live plans', () => {
    const clock = manualClock();
    const scheduler = new KeepAliveScheduler({ clock, concurrency: 8, run: async () => {} });
    for (let key = 0; key < 100_000; key++) scheduler.schedule(`k${key}`, clock.now() + 60_000 + key);
    for (let key = 0; key < 100_000; key++) scheduler.schedule(`k${key}`, clock.now() + 120_000 + key); // replanned
    for (let key = 1_000; key < 100_000; key++) scheduler.cancel(`k${key}`);
    scheduler.schedule('one-more', clock.now() + 1);
    expect(scheduler.size).toBe(1_001);
    expect(scheduler.heapLength).toBeLessThanOrEqual(2 * 1_001 + 64);
    scheduler.close();
  });
});
