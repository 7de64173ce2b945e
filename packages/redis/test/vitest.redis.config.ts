import { defineConfig, mergeConfig } from 'vitest/config';
import root from '../../../vitest.config.js';

// Runs the Redis tests with their globalSetup until the root config lists it:
// npx vitest run --config packages/redis/test/vitest.redis.config.ts packages/redis
export default mergeConfig(
  root,
  defineConfig({
    root: new URL('../../..', import.meta.url).pathname,
    test: { globalSetup: ['packages/redis/test/global-setup.ts'] },
  }),
);
