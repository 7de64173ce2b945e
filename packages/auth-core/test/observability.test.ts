import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, keyHash } from '../src/index.js';
import { instrumentTokenKeeper } from '../src/otel.js';
import { protocolCase, setup } from './harness.js';

const teletracker = protocolCase('refreshToken');
const KEY = 'cookie-session-id-that-is-itself-a-secret';

/** A reader that hands metrics back on demand. */
class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

async function readMetrics(reader: TestReader): Promise<Map<string, { value: unknown; attributes: Record<string, unknown> }[]>> {
  const { resourceMetrics } = await reader.collect();
  const byName = new Map<string, { value: unknown; attributes: Record<string, unknown> }[]>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      byName.set(
        metric.descriptor.name,
        metric.dataPoints.map((point) => ({ value: point.value, attributes: point.attributes as Record<string, unknown> })),
      );
    }
  }
  return byName;
}

describe('logger option', () => {
  it('writes pino-style debug lines with a hash of the session key, never the key or a token', async () => {
    const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const logger = {
      debug: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'debug', fields, message }),
      warn: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'warn', fields, message }),
    };
    const { keeper, upstream, clock } = await setup('refreshToken', { logger });
    const session = keeper.session(KEY);
    await session.login(ada());
    upstream.faults.next('api', 'expired');
    await session.fetch('/whoami');
    await clock.advance(DEFAULTS.rejectionBackoffMs); // past the back-off after a rejection
    upstream.faults.next('api', 'expired');
    upstream.faults.next('refresh', 'status503');
    await session.fetch('/whoami').catch(() => {});
    await session.logout();

    expect(lines.map((line) => `${line.level} ${line.message}`)).toEqual([
      'debug tokenkeeper: logged in',
      'debug tokenkeeper: renewed',
      'debug tokenkeeper: expiry signal: retrying once',
      'warn tokenkeeper: refresh failed: upstream refresh answered 503',
      'debug tokenkeeper: session ended',
      'debug tokenkeeper: logged out',
    ]);
    expect(lines.every((line) => line.fields.keyHash === keyHash(KEY))).toBe(true);
    expect(lines[3]!.fields).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 503, operation: 'refresh' });
    expect(JSON.stringify(lines)).not.toContain(KEY);
  });

  it('refuses a logger without debug() and warn()', async () => {
    await expect(setup('refreshToken', { logger: {} as never })).rejects.toThrow(/logger must have debug\(\) and warn\(\) methods/);
  });
});

describe('OpenTelemetry metrics (@tokenkeeper/auth-core/otel)', () => {
  it('counts refreshes with their latency, logins, retries after the expiry signal, errors and active sessions', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const { keeper, upstream, clock } = await setup('refreshToken', { credentials: () => ada() });
    const stop = instrumentTokenKeeper(keeper, { meter: provider.getMeter('test') });
    try {
      await keeper.session('a').login(ada());
      await keeper.session('b').login(ada());
      upstream.faults.next('api', 'expired');
      await keeper.session('a').fetch('/whoami'); // a retry and a 'rejected' refresh
      await clock.advance(DEFAULTS.rejectionBackoffMs); // past the back-off after a rejection
      upstream.faults.next('api', 'expired');
      upstream.faults.next('refresh', 'status503');
      await keeper.session('a').fetch('/whoami'); // a retry, a failed refresh, then a re-login
      await clock.advance(teletracker.lifetimeMs + 1_000);
      await keeper.session('b').fetch('/whoami'); // an 'expired' refresh
      const metrics = await readMetrics(reader);
      expect(metrics.get('tokenkeeper.refreshes')).toEqual(
        expect.arrayContaining([
          { value: 1, attributes: { protocol: 'refreshToken', trigger: 'rejected' } },
          { value: 1, attributes: { protocol: 'refreshToken', trigger: 'expired' } },
        ]),
      );
      const durations = metrics.get('tokenkeeper.refresh.duration')!;
      expect(durations.map((point) => (point.value as { count: number }).count).reduce((a, b) => a + b)).toBe(2);
      expect(metrics.get('tokenkeeper.retries')).toEqual([{ value: 2, attributes: { protocol: 'refreshToken' } }]);
      expect(metrics.get('tokenkeeper.errors')).toEqual([
        { value: 1, attributes: { protocol: 'refreshToken', operation: 'refresh', code: 'UPSTREAM_UNAVAILABLE' } },
      ]);
      expect(metrics.get('tokenkeeper.logins')).toEqual(
        expect.arrayContaining([
          { value: 2, attributes: { protocol: 'refreshToken', reason: 'login' } },
          { value: 1, attributes: { protocol: 'refreshToken', reason: 'relogin' } },
        ]),
      );
      expect(metrics.get('tokenkeeper.sessions.active')).toEqual([{ value: 2, attributes: { protocol: 'refreshToken' } }]);
    } finally {
      stop();
      await provider.shutdown();
    }
  });
});

function ada() {
  return teletracker.credentials('ada') as { username: string; password: string };
}
