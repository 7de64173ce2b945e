import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@tokenkeeper/source'] },
  ssr: { resolve: { conditions: ['@tokenkeeper/source'] } },
  // NestJS needs legacy decorators with emitted metadata (see TOOLCHAIN.md).
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'docs/snippets/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Fails any test file whose logs, events or errors contain a password or token (issue 5).
    setupFiles: ['test/setup/no-secrets.ts'],
    // Starts a private redis-server on a free loopback port for the Redis tests; stops it after.
    globalSetup: ['packages/redis/test/global-setup.ts'],
  },
});
