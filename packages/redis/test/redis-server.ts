import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A redis-server of the test's own, on a free loopback port. */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Stops the server; with `keepData`, it saves its data first (`SHUTDOWN SAVE`) so `start()` brings it back. */
  stop(options?: { keepData?: boolean }): Promise<void>;
  /** Starts a stopped server again on the same port and data directory. */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open but nothing is answered. */
  pause(): void;
  resume(): void;
  /** Stops the server for good and removes its data directory. */
  close(): Promise<void>;
}

const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';
const running = new Set<ChildProcess>();
// A crashed test process must not leave servers behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `redis-server --port P --bind 127.0.0.1 --save "" --appendonly no` on a free port.
 * Never a fixed port: test files run in parallel, next to other projects' tests.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tk-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 1; !child; attempt++) {
    port = await freePort();
    try {
      child = await spawnServer(port, dir);
    } catch (error) {
      // Another process took the port between our probe and redis binding it: try another.
      if (attempt >= 5 || !/in use/i.test(String(error))) throw error;
    }
  }
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop({ keepData = false } = {}) {
      const current = child;
      if (!current || current.exitCode !== null) return;
      child = undefined;
      const exited = exitOf(current);
      if (keepData) await sendCommand(port, 'SHUTDOWN SAVE').catch(() => current.kill('SIGTERM'));
      else current.kill('SIGTERM');
      await exited;
    },
    async start() {
      if (child) throw new Error('redis-server is already running');
      child = await spawnServer(port, dir);
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async close() {
      server.resume();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

function spawnServer(port: number, dir: string): Promise<ChildProcess> {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--dbfilename',
    'dump.rdb',
  ];
  return spawnRedis(args, running, 'redis-server');
}

/**
 * Starts `redis-server` with `args`, tracked in `running` (killed when the test process exits),
 * and resolves once it logs that it accepts connections; rejects with the end of its output if
 * it exits first. Shared by the single server and the Cluster nodes.
 */
export function spawnRedis(args: string[], running: Set<ChildProcess>, what: string): Promise<ChildProcess> {
  const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Ready to accept connections/.test(output)) {
        child.stdout?.off('data', onData);
        child.stdout?.resume(); // keep draining: a full pipe would block the server
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${output.slice(-500)}`)));
  });
}

function exitOf(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Sends one inline command and waits for the connection to end or answer. */
function sendCommand(port: number, command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' }, () => socket.write(`${command}\r\n`));
    socket.once('error', reject);
    socket.once('data', () => socket.end());
    socket.once('close', () => resolve());
  });
}
