/**
 * The README's blocks are files in docs/snippets/auth-core (test/snippets.test.ts keeps them
 * equal); this runs them. The OpenTelemetry one is here because @opentelemetry/sdk-metrics is
 * this package's development dependency.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { observe } from '../../../docs/snippets/auth-core/events.js';
import { instrument } from '../../../docs/snippets/auth-core/otel.js';
import { protocolCase, setup } from './harness.js';

const ada = () => protocolCase('refreshToken').credentials('ada');

afterEach(() => {
  vi.restoreAllMocks();
  vi.resetModules();
});

describe('the README', () => {
  it("runs the example: ada's call data, then keeper.close()", async () => {
    const { upstream } = await setup('refreshToken');
    Object.assign(process.env, { UPSTREAM_URL: upstream.url, UPSTREAM_PASSWORD: 'ada-password-1' });
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});

    await import('../../../docs/snippets/auth-core/example.js');

    expect(log).toHaveBeenCalledWith({ success: true, data: [], userId: 1, accountId: 100 });
  });

  it('runs the defineProtocol example against an upstream of that shape', async () => {
    const keys: string[] = [];
    const acme = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        if (request.method === 'POST' && request.url === '/token') {
          keys.push(JSON.parse(body).apiKey);
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jwt: 'acme-token-0001' }));
        } else if (request.headers.authorization === 'Bearer acme-token-0001') {
          response.writeHead(200, { 'content-type': 'application/json' }).end('{"things":[]}');
        } else {
          response.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
        }
      });
    });
    acme.listen(0, '127.0.0.1');
    await once(acme, 'listening');
    Object.assign(process.env, { ACME_URL: `http://127.0.0.1:${(acme.address() as AddressInfo).port}`, ACME_KEY: 'the-acme-api-key' });
    const { keeper } = await import('../../../docs/snippets/auth-core/define-protocol.js');
    try {
      await keeper.session('service').login({ apiKey: process.env.ACME_KEY! });
      const answer = await keeper.session('service').fetch('/things');

      expect({ status: answer.status, body: await answer.json() }).toEqual({ status: 200, body: { things: [] } });
      expect(keys).toEqual(['the-acme-api-key']);
    } finally {
      await keeper.close();
      acme.closeAllConnections();
      acme.close();
    }
  });

  it('runs the events example: a refresh is measured, a failed one logged with its code and no secret', async () => {
    const { keeper, upstream, clock } = await setup('refreshToken');
    const durations: number[] = [];
    const warnings: { fields: object; message: string }[] = [];
    observe(keeper, { observe: (ms) => durations.push(ms) }, { warn: (fields, message) => warnings.push({ fields, message }) });
    await keeper.session('ada').login(ada());

    await clock.advance(2 * 60 * 60_000); // the token has expired: the next call refreshes
    expect((await keeper.session('ada').fetch('/reports/call-data')).status).toBe(200);
    expect(durations).toEqual([expect.any(Number)]);

    await clock.advance(2 * 60 * 60_000);
    upstream.faults.next('refresh', 'status503');
    await expect(keeper.session('ada').fetch('/reports/call-data')).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(warnings).toEqual([{ fields: { key: 'ada', operation: 'refresh', code: 'UPSTREAM_UNAVAILABLE' }, message: expect.any(String) }]);
    expect(durations).toHaveLength(1);
  });

  it('runs the logging example: console.debug lines carry a key hash, never the key', async () => {
    const { upstream } = await setup('refreshToken');
    process.env.UPSTREAM_URL = upstream.url;
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {});
    const { keeper } = await import('../../../docs/snippets/auth-core/logging.js');
    try {
      await keeper.session('user-42@example.test').login({ username: 'ada', password: 'ada-password-1' });

      expect(debug).toHaveBeenCalledWith(expect.objectContaining({ keyHash: expect.stringMatching(/^[\w-]{12}$/) }), expect.any(String));
      expect(JSON.stringify(debug.mock.calls)).not.toContain('user-42@example.test');
    } finally {
      await keeper.close();
    }
  });

  it('runs the OpenTelemetry example: logins are counted on the global meter until stopped', async () => {
    const reader = new (class extends MetricReader {
      protected override async onShutdown(): Promise<void> {}
      protected override async onForceFlush(): Promise<void> {}
    })();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    try {
      const { keeper } = await setup('refreshToken');
      const stop = instrument(keeper);
      await keeper.session('ada').login(ada());
      stop();

      const { resourceMetrics } = await reader.collect();
      const logins = resourceMetrics.scopeMetrics
        .flatMap((scope) => scope.metrics)
        .find((metric) => metric.descriptor.name === 'tokenkeeper.logins');
      expect(logins?.dataPoints.map((point) => point.value)).toEqual([1]);
    } finally {
      metrics.disable();
    }
  });
});
