import { type Clock, systemClock } from '@tokenkeeper/auth-core';

/**
 * The system clock, but movable forward by hand: a keeper on it sees its token expire at once,
 * while its timers still run in real time.
 */
export function shiftableClock(): { clock: Clock; jump(ms: number): void } {
  let offsetMs = 0;
  return {
    clock: { now: () => Date.now() + offsetMs, setTimeout: systemClock.setTimeout, clearTimeout: systemClock.clearTimeout },
    jump: (ms) => {
      offsetMs += ms;
    },
  };
}
