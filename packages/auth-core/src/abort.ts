/**
 * Waits for `promise` unless `signal` aborts first; the work behind the promise goes on for
 * its other waiters. Rejects with the signal's reason, as `fetch` does.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export function isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

/** A time limit on one operation; see {@link deadline}. */
export interface Deadline {
  /** Aborts when the time is up or the parent signal aborts. */
  readonly signal: AbortSignal;
  /** Whether it was the time limit (not the parent) that aborted. */
  readonly timedOut: boolean;
  /** Stops the timer and lets go of the parent signal; call it when the operation ends. */
  clear(): void;
}

/**
 * A signal that aborts after `ms` or when `parent` aborts. Unlike `AbortSignal.timeout()`, its
 * timer is cleared when the operation ends, so a busy server does not hold thousands of pending
 * timers (and everything their signals reach) for the full timeout after each call.
 */
export function deadline(ms: number, parent?: AbortSignal | null): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(timeoutError(ms));
  }, ms);
  timer.unref();
  const onParentAbort = () => controller.abort(parent!.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

/** What a time limit aborts with: the `TimeoutError` that `AbortSignal.timeout()` gives. */
export function timeoutError(ms: number): DOMException {
  return new DOMException(`The operation timed out after ${ms} ms.`, 'TimeoutError');
}
