import { performance } from 'node:perf_hooks';
import { type Deadline, deadline, timeoutError } from './abort.js';
import { AuthError } from './errors.js';

/**
 * Where undici keeps the dispatcher that `fetch` sends through when it is given none. Node's
 * `fetch` is undici's, and every copy of undici in a process (Node's own, and the `undici`
 * package an app may install for `setGlobalDispatcher(new ProxyAgent(…))`) reads and writes
 * this one slot, so the app's choice of dispatcher is honoured by wrapping what is found here.
 */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/** The part of undici's `Dispatcher` interface this module uses. */
interface Dispatcher {
  dispatch(options: object, handler: DispatchHandler): boolean;
}

/** undici's dispatch handler, as Node's `fetch` (undici 6 and 7) hands it to a dispatcher. */
interface DispatchHandler {
  onConnect(abort: (reason?: unknown) => void): void;
  onResponseStarted?(): void;
  onHeaders(statusCode: number, headers: unknown, resume: () => void, statusText: string): boolean;
  onData(chunk: unknown): boolean;
  onComplete(trailers: unknown): void;
  onError(error: unknown): void;
  onUpgrade?(statusCode: number, headers: unknown, socket: unknown): void;
}

function isDispatcher(value: unknown): value is Dispatcher {
  return typeof (value as { dispatch?: unknown } | null | undefined)?.dispatch === 'function';
}

/**
 * What each `fetch` was seen to do with a `dispatcher`, once any keeper's try has shown it: the
 * platform's `fetch` is one for the whole process, so later keepers need not probe it again.
 */
const verdicts = new WeakMap<typeof globalThis.fetch, 'signal' | 'dispatcher'>();

/**
 * One try's bound, from {@link RequestBound.start}: what the try sends with, in place of the
 * caller's `init.signal` and `init.dispatcher`, and what the sender calls as the try ends.
 */
export interface BoundedSend {
  readonly signal: AbortSignal | null | undefined;
  readonly dispatcher: unknown;
  /** What a failed try rejects with: `TIMEOUT` when the bound ran out (not on the caller's abort), else `error`. */
  failure(error: unknown): unknown;
  /** The try is over (`answered`: it has its final answer's headers): stops the bound. Call it once. */
  end(answered: boolean): void;
}

/**
 * Bounds each `session.fetch` try (every hop of it, until the final answer's headers arrive) by
 * `requestTimeoutMs`; a try that takes longer rejects with `TIMEOUT`.
 *
 * Following an `AbortSignal` is the dearest part of a call through Node's `fetch` (it registers a
 * listener, a `WeakRef` and a finalizer per request: about 10% of a loopback call's CPU). So when
 * the keeper's `fetch` is the platform's and it is seen to honour a `dispatcher` (undici's
 * `RequestInit` extension), the bound is kept a level down instead: a dispatcher wraps the one the
 * request would have used (the caller's `init.dispatcher`, or the process's global one) and aborts
 * the request from there. The caller's own signal, if any, is passed on untouched, as a bare call
 * would. Any other `fetch`, or a protocol that sends requests itself, gets the signal.
 *
 * The first tries with the platform's `fetch` carry both, and the signal is kept if the
 * dispatcher was never called (a `fetch` replaced before tokenkeeper loaded, such as a test's
 * interceptor) or was handed a handler of a shape this module does not know (a later undici's,
 * passed on as it is): a bound is never lost to the saving. The verdict holds for the process.
 */
export class RequestBound {
  readonly #fetch: typeof globalThis.fetch;
  /** The time limits of this keeper's tries; `timers.ms` is `requestTimeoutMs`. */
  readonly timers: TryTimers;
  /** `probe` until a try shows whether the dispatcher is called. */
  #mode: 'signal' | 'probe' | 'dispatcher';

  constructor(timeoutMs: number, fetchImpl: typeof globalThis.fetch, protocolSends: boolean) {
    this.#fetch = fetchImpl;
    this.timers = new TryTimers(timeoutMs);
    this.#mode = fetchImpl === globalThis.fetch && !protocolSends ? (verdicts.get(fetchImpl) ?? 'probe') : 'signal';
  }

  /**
   * Starts one try's bound. The sender passes what it answers on (`signal`, `dispatcher`), maps
   * a failure through `failure`, and calls `end` when the try is over, so the bound adds no frame
   * of its own to the call (see `AuthorizedSender`).
   */
  start(init: RequestInit): BoundedSend {
    if (this.#mode === 'probe') this.#mode = verdicts.get(this.#fetch) ?? 'probe'; // another keeper may have seen it
    const callerSignal = init.signal;
    const given = (init as { dispatcher?: unknown }).dispatcher;
    const target = this.#mode === 'signal' ? undefined : (given ?? (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER]);
    // Before the process's first `fetch` there is no global dispatcher to wrap: a signal this time.
    if (!isDispatcher(target)) return new SignalTry(this, deadline(this.timers.ms, callerSignal), callerSignal, given);
    // While probing, a signal bounds the try as well, in case this fetch never calls the dispatcher.
    const backup = this.#mode === 'probe' ? deadline(this.timers.ms, callerSignal) : undefined;
    return new BoundedTry(this, target, callerSignal, backup);
  }

  /** What a probing try showed: the dispatcher was called with handlers it knows, or the fetch went its own way. */
  settleProbe(bounded: BoundedTry, answered: boolean): void {
    const verdict = bounded.unknownHandler ? 'signal' : bounded.dispatched ? 'dispatcher' : answered ? 'signal' : undefined;
    if (verdict === undefined) return; // failed before sending anything: the next try probes again
    this.#mode = verdict;
    verdicts.set(this.#fetch, verdict);
  }

  /** What a try that ran out rejects with. */
  timeout(): AuthError {
    return new AuthError('TIMEOUT', `upstream request took longer than ${this.timers.ms} ms`, {
      upstream: { operation: 'request', outcomeUnknown: true },
    });
  }
}

/** A try bounded by a signal: with a `fetch` that does not use dispatchers, or a protocol that sends requests itself. */
class SignalTry implements BoundedSend {
  readonly #deadline: Deadline;
  readonly #callerSignal: AbortSignal | null | undefined;
  readonly #owner: RequestBound;
  readonly dispatcher: unknown;

  constructor(owner: RequestBound, limit: Deadline, callerSignal: AbortSignal | null | undefined, dispatcher: unknown) {
    this.#owner = owner;
    this.#deadline = limit;
    this.#callerSignal = callerSignal;
    this.dispatcher = dispatcher;
  }

  get signal(): AbortSignal {
    return this.#deadline.signal;
  }

  failure(error: unknown): unknown {
    return this.#deadline.timedOut && !this.#callerSignal?.aborted ? this.#owner.timeout() : error;
  }

  end(): void {
    this.#deadline.clear();
  }
}

/**
 * The time limits of one keeper's tries in flight. Every try has the same limit, so they run out
 * in the order they started, and one Node timer, set for the oldest, serves them all. A timer per
 * try cost about 1,800 instructions a request (bench scenario 8): Node keeps a list of timers per
 * duration, and with one request at a time that list was taken down and set up again, with its
 * libuv timer, on every request. Times are `performance.now()`'s: a clock step cannot end a try early
 * (`node:perf_hooks`'s object: the global `performance` is a getter, dear on every request).
 */
class TryTimers {
  readonly ms: number;
  /** Tries in the order they started; those before `#oldest` have ended or run out. */
  readonly #tries: BoundedTry[] = [];
  #oldest = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number) {
    this.ms = ms;
  }

  /** Starts the time of `bounded`; answers when it runs out. */
  start(bounded: BoundedTry): number {
    this.#tries.push(bounded);
    if (this.#timer === undefined) this.#arm(this.ms);
    return performance.now() + this.ms;
  }

  /** Lets go of the tries at the front that have ended (called as each ends). */
  ended(): void {
    const tries = this.#tries;
    while (this.#oldest < tries.length && tries[this.#oldest]!.ended) this.#oldest++;
    if (this.#oldest === tries.length) {
      tries.length = 0;
      this.#oldest = 0;
    }
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(this.#fire, ms);
    this.#timer.unref();
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    const tries = this.#tries;
    for (; this.#oldest < tries.length; this.#oldest++) {
      const bounded = tries[this.#oldest]!;
      if (bounded.ended) continue;
      if (bounded.deadline > now) break;
      bounded.expire();
    }
    if (this.#oldest === tries.length) {
      tries.length = 0;
      this.#oldest = 0;
      return;
    }
    tries.splice(0, this.#oldest);
    this.#oldest = 0;
    this.#arm(Math.max(1, tries[0]!.deadline - now));
  };
}

/** One try's bound, as the dispatcher its hops are sent through. */
class BoundedTry implements Dispatcher, BoundedSend {
  timedOut = false;
  /** Whether `fetch` sent anything through this dispatcher. */
  dispatched = false;
  /** Set when `fetch` handed over a handler of another shape than {@link DispatchHandler}: passed on unbounded. */
  unknownHandler = false;
  /** Set by {@link end}: the try has its answer, or failed. */
  ended = false;
  /** When the try runs out, on `performance.now()`'s scale. */
  readonly deadline: number;
  /** The caller's own signal, passed on untouched; or, while probing, a {@link backup} bound on it. */
  readonly signal: AbortSignal | null | undefined;
  readonly #callerSignal: AbortSignal | null | undefined;
  /** Set while probing whether this `fetch` calls the dispatcher at all. */
  readonly #backup: Deadline | undefined;
  readonly #owner: RequestBound;
  readonly #target: Dispatcher;
  #hop: BoundedHop | undefined;

  constructor(owner: RequestBound, target: Dispatcher, callerSignal: AbortSignal | null | undefined, backup: Deadline | undefined) {
    this.#owner = owner;
    this.#target = target;
    this.#callerSignal = callerSignal;
    this.#backup = backup;
    this.signal = backup?.signal ?? callerSignal;
    this.deadline = owner.timers.start(this);
  }

  get dispatcher(): this {
    return this;
  }

  failure(error: unknown): unknown {
    return (this.timedOut || this.#backup?.timedOut) && !this.#callerSignal?.aborted ? this.#owner.timeout() : error;
  }

  end(answered: boolean): void {
    this.ended = true;
    this.#hop = undefined; // kept until its time is up: hold nothing of the request
    this.#owner.timers.ended();
    if (this.#backup) {
      this.#backup.clear();
      this.#owner.settleProbe(this, answered);
    }
  }

  dispatch(options: object, handler: DispatchHandler): boolean {
    this.dispatched = true;
    if (typeof handler.onConnect !== 'function' || typeof handler.onHeaders !== 'function') {
      // Not the handler Node's fetch has passed since undici 5: wrapping it could break the call.
      this.unknownHandler = true;
      return this.#target.dispatch(options, handler);
    }
    if (this.timedOut) {
      handler.onError(timeoutError(this.#owner.timers.ms));
      return true;
    }
    const hop = new BoundedHop(handler);
    this.#hop = hop;
    return this.#target.dispatch(options, hop);
  }

  /** The time is up: fails the hop in flight, and any later one. */
  expire(): void {
    this.timedOut = true;
    this.#hop?.expire(timeoutError(this.#owner.timers.ms));
  }
}

/**
 * One hop's handler: `fetch`'s own, passed every call, and aborted by {@link BoundedTry} if the
 * bound runs out before the answer's headers. A hop still waiting for a connection has no abort
 * yet: `fetch` is failed at once, and the request aborted when the connection comes.
 */
class BoundedHop implements DispatchHandler {
  readonly #inner: DispatchHandler;
  #abort: ((reason?: unknown) => void) | undefined;
  #answered = false;
  /** Set when the bound failed `fetch` before the request had a connection. */
  #expired: unknown;

  constructor(inner: DispatchHandler) {
    this.#inner = inner;
  }

  expire(reason: unknown): void {
    if (this.#answered) return;
    if (this.#abort) {
      this.#abort(reason);
      return;
    }
    this.#answered = true;
    this.#expired = reason;
    this.#inner.onError(reason);
  }

  onConnect(abort: (reason?: unknown) => void): void {
    if (this.#expired !== undefined) {
      abort(this.#expired);
      return;
    }
    this.#abort = abort;
    this.#inner.onConnect(abort);
  }

  onResponseStarted(): void {
    this.#inner.onResponseStarted?.();
  }

  onHeaders(statusCode: number, headers: unknown, resume: () => void, statusText: string): boolean {
    this.#answered = true;
    return this.#inner.onHeaders(statusCode, headers, resume, statusText);
  }

  onData(chunk: unknown): boolean {
    return this.#inner.onData(chunk);
  }

  onComplete(trailers: unknown): void {
    this.#inner.onComplete(trailers);
  }

  onError(error: unknown): void {
    if (this.#expired !== undefined) return; // fetch has had its error already
    this.#answered = true;
    this.#inner.onError(error);
  }

  onUpgrade(statusCode: number, headers: unknown, socket: unknown): void {
    this.#answered = true;
    this.#inner.onUpgrade?.(statusCode, headers, socket);
  }
}
