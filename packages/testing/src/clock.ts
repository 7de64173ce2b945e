import type { Clock, ClockTimer } from '@tokenkeeper/auth-core';

/**
 * A clock that only moves when a test moves it. Pass it to a `TokenKeeper` and to
 * {@link startFakeUpstream} so that both sides agree on time and a 15-minute token can be
 * crossed in a millisecond.
 *
 * @example
 * const clock = createManualClock();
 * clock.setTimeout(() => console.log('fired'), 1_000);
 * await clock.advance(1_000); // logs 'fired'
 */
export interface ManualClock extends Clock {
  /** Current time in epoch milliseconds; changes only through {@link advance} and {@link set}. */
  now(): number;
  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in due order
   * (ties in creation order), synchronously; a timer created by a callback fires too when it is
   * due before the target. Then waits three macrotask turns (`setImmediate`) so that async work
   * the callbacks started can proceed. If callbacks threw, rejects with the first error after
   * all due timers ran.
   */
  advance(ms: number): Promise<void>;
  /** Jumps to the epoch time `at`, forward or back, then fires the timers now due as {@link advance} does. */
  set(at: number): Promise<void>;
  /** Schedules `callback` at `now() + delayMs` (negative or non-finite delays count as 0). */
  setTimeout(callback: () => void, delayMs: number): ClockTimer;
  /** Cancels a timer; unknown or already fired timers are ignored. */
  clearTimeout(timer: ClockTimer): void;
  /** How many timers are scheduled and not yet fired or cleared. */
  pendingTimers(): number;
}

interface ScheduledTimer {
  readonly dueAt: number;
  readonly sequence: number;
  readonly callback: () => void;
}

const MACROTASK_TURNS = 3;

/** Creates a {@link ManualClock} starting at `startAt` (default: `Date.now()`). */
export function createManualClock(startAt: number = Date.now()): ManualClock {
  assertFiniteTime('startAt', startAt);
  let currentTime = startAt;
  let nextSequence = 0;
  // Handles are opaque objects so that a handle from another clock never matches.
  const timers = new Map<object, ScheduledTimer>();

  function nextDue(until: number): [object, ScheduledTimer] | undefined {
    let earliest: [object, ScheduledTimer] | undefined;
    for (const entry of timers) {
      const timer = entry[1];
      if (timer.dueAt > until) continue;
      if (!earliest || timer.dueAt < earliest[1].dueAt || (timer.dueAt === earliest[1].dueAt && timer.sequence < earliest[1].sequence)) {
        earliest = entry;
      }
    }
    return earliest;
  }

  async function moveTo(target: number): Promise<void> {
    const errors: unknown[] = [];
    for (let due = nextDue(target); due; due = nextDue(target)) {
      const [handle, timer] = due;
      timers.delete(handle);
      currentTime = Math.max(currentTime, timer.dueAt);
      try {
        timer.callback();
      } catch (error) {
        errors.push(error);
      }
    }
    currentTime = target;
    for (let turn = 0; turn < MACROTASK_TURNS; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (errors.length > 0) throw errors[0];
  }

  return {
    now: () => currentTime,
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) {
        return Promise.reject(new TypeError(`advance(ms): ms must be a finite number >= 0, got ${ms}`));
      }
      return moveTo(currentTime + ms);
    },
    set(at) {
      if (!Number.isFinite(at)) {
        return Promise.reject(new TypeError(`set(at): at must be a finite epoch time in ms, got ${at}`));
      }
      currentTime = at;
      return moveTo(at);
    },
    setTimeout(callback, delayMs) {
      if (typeof callback !== 'function') throw new TypeError('setTimeout: callback must be a function');
      const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
      const handle = Object.freeze({});
      timers.set(handle, { dueAt: currentTime + delay, sequence: nextSequence++, callback });
      return handle;
    },
    clearTimeout(timer) {
      if (typeof timer === 'object' && timer !== null) timers.delete(timer);
    },
    pendingTimers: () => timers.size,
  };
}

function assertFiniteTime(name: string, value: number): void {
  if (!Number.isFinite(value)) throw new TypeError(`${name} must be a finite epoch time in ms, got ${value}`);
}
