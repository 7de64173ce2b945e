/**
 * Child processes for the servers of a scenario (the fake upstream, the apps, the instances), so
 * the load generator, the app and the upstream each have an event loop of their own, as they
 * would in production. Parent and child talk over Node's IPC channel: the child announces itself
 * with `{ ready }`, then answers `{ id, op, args }` calls with `{ id, result }` or `{ id, error }`.
 */
import { type ChildProcess, type ForkOptions, fork } from 'node:child_process';
import { within } from './measure.js';

type Handler = (...args: never[]) => unknown;

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

export interface Child<Ready> {
  /** What the child announced when it was ready (its URL, ports, …). */
  readonly ready: Ready;
  /** The child's process id. */
  readonly pid: number;
  /** Calls one of the child's handlers; bounded by `timeoutMs`. */
  call<Result>(op: string, args?: unknown[], timeoutMs?: number): Promise<Result>;
  /** Asks the child to close its servers and exit; kills it if it has not within 5 s. */
  close(): Promise<void>;
}

/**
 * Starts `dist/<entry>.js` with `args` and waits (at most `timeoutMs`) for it to be ready.
 * `spawn` can run it under another program (`valgrind … node`: `execPath` and `execArgv`) and
 * set its environment.
 */
export async function startChild<Ready>(
  entry: string,
  args: string[] = [],
  timeoutMs = 15_000,
  spawn?: Pick<ForkOptions, 'execPath' | 'execArgv' | 'env'>,
): Promise<Child<Ready>> {
  const child = fork(new URL(`./${entry}.js`, import.meta.url), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...spawn });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const ready = await within(
    new Promise<Ready>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${entry} exited with code ${code} before it was ready`)));
      child.on('message', (message: { ready?: Ready } & Partial<Reply>) => {
        if ('ready' in message) return resolve(message.ready as Ready);
        const waiter = message.id === undefined ? undefined : pending.get(message.id);
        if (!waiter) return;
        pending.delete(message.id!);
        if (message.error !== undefined) waiter.reject(new Error(`${entry}: ${message.error}`));
        else waiter.resolve(message.result);
      });
    }),
    timeoutMs,
    `starting ${entry}`,
  ).catch((error: unknown) => {
    child.kill();
    throw error;
  });
  child.once('exit', () => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${entry} exited`));
    pending.clear();
  });

  return {
    ready,
    pid: child.pid!,
    call<Result>(op: string, args: unknown[] = [], callTimeoutMs = 60_000): Promise<Result> {
      const id = nextId++;
      const answer = new Promise<unknown>((resolve, reject) => pending.set(id, { resolve, reject }));
      child.send({ id, op, args });
      return within(answer as Promise<Result>, callTimeoutMs, `${entry}.${op}`);
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.send({ id: 0, op: 'close', args: [] });
      await within(exited, 5_000, `closing ${entry}`).catch(() => killChild(child));
    },
  };
}

function killChild(child: ChildProcess): void {
  child.kill('SIGKILL');
}

/**
 * The child's side: announces `ready`, answers calls with `handlers`, and on `close` (or when the
 * parent goes away) runs `onClose` and exits, so no child outlives its run.
 */
export function serveParent(ready: unknown, handlers: Record<string, Handler>, onClose: () => Promise<void>): void {
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await within(onClose(), 4_000, 'closing').catch(() => undefined);
    process.exit(0);
  };
  process.on('disconnect', () => void close());
  process.on('message', async ({ id, op, args }: { id: number; op: string; args: never[] }) => {
    if (op === 'close') return close();
    try {
      const handler = handlers[op];
      if (!handler) throw new Error(`no handler ${op}`);
      process.send?.({ id, result: await handler(...args) });
    } catch (error) {
      process.send?.({ id, error: error instanceof Error ? error.message : String(error) });
    }
  });
  process.send?.({ ready });
}
