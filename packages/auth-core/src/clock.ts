/**
 * The source of time for a {@link TokenKeeper}: epoch milliseconds plus the timers the
 * keep-alive scheduler sleeps on. The default is the system clock with `unref()`-ed timers;
 * tests pass a manual clock (see `createManualClock` in `@tokenkeeper/testing`) so that token
 * lifetimes can be crossed without waiting.
 */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
  /** Calls `callback` once after `delayMs`; must not keep the process alive. */
  setTimeout(callback: () => void, delayMs: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
}

/** An opaque timer handle returned by {@link Clock.setTimeout}. */
export type ClockTimer = unknown;

// setTimeout overflows above 2^31-1 ms and fires at once; long sleeps are cut into pieces.
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** The wall clock; its timers are `unref()`-ed so they never hold the process open. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, delayMs) {
    const timer = setTimeout(callback, Math.min(Math.max(0, delayMs), MAX_TIMER_DELAY_MS));
    timer.unref();
    return timer;
  },
  clearTimeout(timer) {
    clearTimeout(timer as NodeJS.Timeout);
  },
};
