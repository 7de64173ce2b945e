/**
 * Runs a snippet that starts a server as a user would: its settings come from environment
 * variables (each snippet names its own, with a default for a real deployment), it listens on
 * 127.0.0.1 and the port the test chooses (0: a free one), and it exports what it started.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export { Browser, SECRET, USER_IDS } from '../../test/support/adapter-fixtures.js';

export interface RunningSnippet {
  url: string;
  close(): Promise<void>;
}

/** Imports a snippet (once per test file) with `env` set, and waits until its `server` listens. */
export async function startSnippet(load: () => Promise<{ server: Server }>, env: Record<string, string>): Promise<RunningSnippet> {
  Object.assign(process.env, { PORT: '0', ...env });
  const { server } = await load();
  if (!server.listening) await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
