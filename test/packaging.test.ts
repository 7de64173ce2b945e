/**
 * Packaging: the built packages (dist, as npm users get them) load from CommonJS through
 * require() and from ES modules through import, share one copy of AuthError, and a NestJS app
 * compiled to CommonJS runs with @tokenkeeper/nestjs. Needs `tsc -b` first (the test command runs it).
 * The packed tarballs, installed by npm outside the workspace with the oldest framework versions
 * the peer ranges allow, are tested by test/packed/run.mjs (in .ci/run: it needs the registry).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startFakeUpstream } from '@tokenkeeper/testing';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

const EXPECTED_EXPORTS: Record<string, string[]> = {
  '@tokenkeeper/auth-core': [
    'TokenKeeper',
    'AuthError',
    'sessionRenew',
    'refreshToken',
    'basicAuth',
    'defineProtocol',
    'MemoryStore',
    'SessionCookie',
  ],
  '@tokenkeeper/auth-core/otel': ['instrumentTokenKeeper'],
  '@tokenkeeper/testing': ['startFakeUpstream', 'createManualClock', 'startRecordingServer'],
  '@tokenkeeper/express': ['tokenKeeper', 'tokenKeeperErrors', 'connectRoutes'],
  '@tokenkeeper/koa': ['tokenKeeper', 'connectRoutes'],
  '@tokenkeeper/oauth2': ['oauth2', 'oauthConnect', 'isBearerExpiry'],
  '@tokenkeeper/fastify': ['tokenKeeper', 'tokenKeeperErrorHandler'],
  '@tokenkeeper/nestjs': ['TokenKeeperModule', 'UpstreamSession', 'UpstreamSessionGuard', 'AuthErrorFilter'],
  '@tokenkeeper/axios': ['installTokenKeeper'],
  '@tokenkeeper/redis': ['RedisStore', 'RedisLock'],
};

/** Runs a script with plain Node from the repository root, so packages resolve as an app's would. */
async function node(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, args, { cwd: root, timeout: 60_000 });
  return stdout;
}

describe('the built packages', () => {
  it('load from CommonJS with require(), exporting what they document', async () => {
    const script = `
      const expected = ${JSON.stringify(EXPECTED_EXPORTS)};
      const missing = [];
      for (const [name, exports] of Object.entries(expected)) {
        const loaded = require(name);
        for (const symbol of exports) if (typeof loaded[symbol] !== 'function') missing.push(name + ' ' + symbol);
      }
      console.log(JSON.stringify({ missing, format: typeof module }));
    `;
    expect(JSON.parse(await node(['-e', script]))).toEqual({ missing: [], format: 'object' });
  });

  it('load from ES modules with import, and share one AuthError with CommonJS consumers', async () => {
    const script = `
      import { createRequire } from 'node:module';
      import { AuthError } from '@tokenkeeper/auth-core';
      import * as express from '@tokenkeeper/express';
      const require = createRequire(import.meta.url);
      const fromRequire = require('@tokenkeeper/auth-core');
      const error = new fromRequire.AuthError('SESSION_EXPIRED', 'x');
      console.log(JSON.stringify({ same: fromRequire.AuthError === AuthError, instance: error instanceof AuthError, express: typeof express.tokenKeeper }));
    `;
    expect(JSON.parse(await node(['--input-type=module', '-e', script]))).toEqual({ same: true, instance: true, express: 'function' });
  });

  it('serve a NestJS app compiled to CommonJS', async () => {
    const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
    try {
      await run(
        process.execPath,
        [fileURLToPath(import.meta.resolve('typescript/bin/tsc')), '-p', 'test/packaging/nest-cjs/tsconfig.json'],
        {
          cwd: root,
          timeout: 120_000,
        },
      );
      const { stdout } = await run(process.execPath, ['test/packaging/nest-cjs/dist/main.js'], {
        cwd: root,
        timeout: 60_000,
        env: { ...process.env, UPSTREAM_URL: upstream.url },
      });
      expect(JSON.parse(stdout)).toEqual({ module: 'object', login: 201, me: { userId: 1 }, anonymous: 401 });
    } finally {
      await upstream.close();
    }
  });
});
