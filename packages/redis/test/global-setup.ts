import type { TestProject } from 'vitest/node';
import { startRedisServer } from './redis-server.js';

/** One redis-server for every test file; files that stop Redis start their own. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startRedisServer();
  project.provide('redisUrl', server.url);
  return () => server.close();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
