import { describe, expect, it } from 'vitest';
import { createManualClock } from '../src/index.js';

describe('createManualClock', () => {
  it('starts at the given time and stays there until moved', () => {
    const clock = createManualClock(1_000);
    expect(clock.now()).toBe(1_000);
    expect(clock.now()).toBe(1_000);
  });

  it('starts at the current wall time by default', () => {
    const before = Date.now();
    const now = createManualClock().now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('fires due timers in due order, ties in creation order', async () => {
    const clock = createManualClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('c'), 300);
    clock.setTimeout(() => fired.push('a'), 100);
    clock.setTimeout(() => fired.push('b1'), 200);
    clock.setTimeout(() => fired.push('b2'), 200);
    await clock.advance(1_000);
    expect(fired).toEqual(['a', 'b1', 'b2', 'c']);
  });

  it('does not fire a timer before it is due', async () => {
    const clock = createManualClock(0);
    let fired = false;
    clock.setTimeout(() => (fired = true), 100);
    await clock.advance(99);
    expect(fired).toBe(false);
    await clock.advance(1);
    expect(fired).toBe(true);
  });

  it('shows each callback the time its timer was due, and the target time afterwards', async () => {
    const clock = createManualClock(0);
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 100);
    clock.setTimeout(() => seen.push(clock.now()), 250);
    await clock.advance(1_000);
    expect(seen).toEqual([100, 250]);
    expect(clock.now()).toBe(1_000);
  });

  it('fires a timer created by a callback within the same advance when it falls due', async () => {
    const clock = createManualClock(0);
    const seen: number[] = [];
    clock.setTimeout(() => clock.setTimeout(() => seen.push(clock.now()), 100), 100);
    await clock.advance(250);
    expect(seen).toEqual([200]);
  });

  it('lets async work started by a callback proceed before advance resolves', async () => {
    const clock = createManualClock(0);
    let done = false;
    clock.setTimeout(() => {
      void (async () => {
        await Promise.resolve();
        await new Promise((resolve) => setImmediate(resolve));
        done = true;
      })();
    }, 10);
    await clock.advance(10);
    expect(done).toBe(true);
  });

  it('counts pending timers and forgets cleared ones', async () => {
    const clock = createManualClock(0);
    let fired = false;
    const timer = clock.setTimeout(() => (fired = true), 100);
    clock.setTimeout(() => undefined, 200);
    expect(clock.pendingTimers()).toBe(2);
    clock.clearTimeout(timer);
    expect(clock.pendingTimers()).toBe(1);
    await clock.advance(1_000);
    expect(fired).toBe(false);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('ignores clearTimeout of an unknown or already fired timer', async () => {
    const clock = createManualClock(0);
    const timer = clock.setTimeout(() => undefined, 1);
    await clock.advance(1);
    expect(() => clock.clearTimeout(timer)).not.toThrow();
    expect(() => clock.clearTimeout(undefined)).not.toThrow();
  });

  it('jumps forward with set() and fires the timers now due', async () => {
    const clock = createManualClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(1), 500);
    clock.setTimeout(() => fired.push(2), 5_000);
    await clock.set(1_000);
    expect(clock.now()).toBe(1_000);
    expect(fired).toEqual([1]);
  });

  it('jumps back with set() without firing anything', async () => {
    const clock = createManualClock(10_000);
    let fired = false;
    clock.setTimeout(() => (fired = true), 100);
    await clock.set(0);
    expect(clock.now()).toBe(0);
    expect(fired).toBe(false);
    await clock.advance(10_100);
    expect(fired).toBe(true);
  });

  it('treats a negative delay as zero, due at the next advance', async () => {
    const clock = createManualClock(0);
    let fired = false;
    clock.setTimeout(() => (fired = true), -50);
    expect(fired).toBe(false);
    await clock.advance(0);
    expect(fired).toBe(true);
  });

  it('rejects a negative or non-finite advance', async () => {
    const clock = createManualClock(0);
    await expect(clock.advance(-1)).rejects.toThrow(TypeError);
    await expect(clock.advance(Number.NaN)).rejects.toThrow(TypeError);
    expect(clock.now()).toBe(0);
  });

  it('runs every due timer even when one throws, then rejects with the first error', async () => {
    const clock = createManualClock(0);
    let laterFired = false;
    clock.setTimeout(() => {
      throw new Error('boom');
    }, 10);
    clock.setTimeout(() => (laterFired = true), 20);
    await expect(clock.advance(100)).rejects.toThrow('boom');
    expect(laterFired).toBe(true);
    expect(clock.now()).toBe(100);
  });
});
