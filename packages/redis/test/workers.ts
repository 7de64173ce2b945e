import { fork } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup } from './helpers.js';

const WORKER = fileURLToPath(new URL('./workers/keeper-worker.mjs', import.meta.url));
const PACKAGES = fileURLToPath(new URL('../..', import.meta.url));

export interface WorkerConfig {
  /** The single Redis, unless `clusterNodes` is given. */
  redisUrl?: string;
  /** A Redis Cluster's nodes: the worker's store and lock then use an ioredis Cluster. */
  clusterNodes?: { host: string; port: number }[];
  upstreamUrl: string;
  prefix: string;
  /** The protected resource every request fetches. */
  resource: string;
  commandTimeoutMs?: number;
  /** Base64 of 32 random bytes. */
  encryptionKey: string;
  /** Credentials a `credentials` provider answers for every key, for re-login. */
  credentials?: { username: string; password: string };
  /** TokenKeeper options (JSON only). */
  keeper?: Record<string, unknown>;
}

/** Outcome counts: HTTP status or error code → how many requests ended so. */
export type Tally = Record<string, number>;

/** An app instance in its own process (see workers/keeper-worker.mjs). */
export interface KeeperWorker {
  call<T = unknown>(type: string, payload?: Record<string, unknown>): Promise<T>;
  /** Kills the process at once, as a crash or a deploy would. */
  kill(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Forks a worker, which runs on the dist builds; stopped after the test. `script` is another
 * worker speaking the same messages (the OAuth tests' worker), on these packages' builds too.
 */
export async function startWorker(
  config: WorkerConfig | Record<string, unknown>,
  script = WORKER,
  packages = ['auth-core', 'redis'],
): Promise<KeeperWorker> {
  checkBuilt(packages);
  const child = fork(script, [JSON.stringify(config)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  child.on('message', (message: { id?: number; result?: unknown; error?: string }) => {
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.error === undefined) waiter.resolve(message.result);
    else waiter.reject(Object.assign(new Error(`worker: ${message.error}`), { code: message.error }));
  });
  exited.then(() => {
    for (const waiter of pending.values()) waiter.reject(new Error('the worker exited'));
    pending.clear();
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the worker exited with ${code} before it was ready`)));
  });
  const worker: KeeperWorker = {
    call<T>(type: string, payload: Record<string, unknown> = {}) {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, type, ...payload });
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await worker.call('close').catch(() => undefined);
      await exited;
      clearTimeout(timer);
    },
  };
  onCleanup(() => worker.close());
  return worker;
}

/** Starts `count` workers with one configuration. */
export function startWorkers(count: number, config: WorkerConfig): Promise<KeeperWorker[]> {
  return Promise.all(Array.from({ length: count }, () => startWorker(config)));
}

/** Adds up the tallies of several workers. */
export function sumTallies(tallies: Tally[]): Tally {
  const sum: Tally = {};
  for (const tally of tallies) for (const [outcome, count] of Object.entries(tally)) sum[outcome] = (sum[outcome] ?? 0) + count;
  return sum;
}

const built = new Set<string>();

/** Workers import dist: refuse to run them on a build older than the sources. */
function checkBuilt(packages: string[]): void {
  for (const name of packages) {
    if (built.has(name)) continue;
    const buildInfo = statSync(join(PACKAGES, name, '.tsbuildinfo'), { throwIfNoEntry: false });
    const newestSource = newestMtime(join(PACKAGES, name, 'src'));
    if (!buildInfo || buildInfo.mtimeMs < newestSource) {
      throw new Error(`packages/${name}/dist is older than its sources: run \`tsc -b\` before these tests`);
    }
    built.add(name);
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}
