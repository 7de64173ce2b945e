/**
 * OpenTelemetry metrics for a TokenKeeper (`@tokenkeeper/auth-core/otel`). Needs the optional
 * peer dependency `@opentelemetry/api`; nothing else in tokenkeeper loads it.
 *
 * @example
 * import { instrumentTokenKeeper } from '@tokenkeeper/auth-core/otel';
 * const stop = instrumentTokenKeeper(keeper); // uses metrics.getMeter('@tokenkeeper/auth-core')
 */
import { type Meter, metrics } from '@opentelemetry/api';
import type { TokenKeeper } from './keeper.js';

export interface InstrumentOptions {
  /** Default: `metrics.getMeter('@tokenkeeper/auth-core')` from the global provider. */
  meter?: Meter;
}

/**
 * Records, from the keeper's events:
 * - `tokenkeeper.refreshes` (counter; `protocol`, `trigger`) and `tokenkeeper.refresh.duration` (histogram, ms)
 * - `tokenkeeper.logins` (counter; `protocol`, `reason`: `login` | `relogin`)
 * - `tokenkeeper.retries` (counter; `protocol`): requests retried after the expiry signal
 * - `tokenkeeper.errors` (counter; `protocol`, `operation`, `code`)
 * - `tokenkeeper.sessions.active` (observable gauge): sessions this keeper served lately
 *
 * Returns a function that stops recording.
 */
export function instrumentTokenKeeper(keeper: TokenKeeper<any>, options: InstrumentOptions = {}): () => void {
  const meter = options.meter ?? metrics.getMeter('@tokenkeeper/auth-core');
  const refreshes = meter.createCounter('tokenkeeper.refreshes', { description: 'Upstream renewals and refreshes' });
  const refreshDuration = meter.createHistogram('tokenkeeper.refresh.duration', { description: 'Renewal latency', unit: 'ms' });
  const logins = meter.createCounter('tokenkeeper.logins', { description: 'Upstream logins, first and again' });
  const retries = meter.createCounter('tokenkeeper.retries', { description: 'Requests retried once after the expiry signal' });
  const errors = meter.createCounter('tokenkeeper.errors', { description: 'Failed upstream calls' });
  const active = meter.createObservableGauge('tokenkeeper.sessions.active', { description: 'Sessions this keeper served lately' });
  const observe = (result: { observe(value: number, attributes?: Record<string, string>): void }) =>
    result.observe(keeper.stats.sessions, { protocol: keeper.protocol.name });
  active.addCallback(observe);
  const unsubscribe = [
    keeper.on('refresh', ({ protocol, trigger, durationMs }) => {
      refreshes.add(1, { protocol, trigger });
      refreshDuration.record(durationMs, { protocol, trigger });
    }),
    keeper.on('login', ({ protocol, reason }) => logins.add(1, { protocol, reason })),
    keeper.on('retry', ({ protocol }) => retries.add(1, { protocol })),
    keeper.on('error', ({ protocol, operation, error }) => errors.add(1, { protocol, operation, code: error.code })),
  ];
  return () => {
    for (const stop of unsubscribe) stop();
    active.removeCallback(observe);
  };
}
