/**
 * Starts the example as a user runs it: src/main.ts, configured through its environment
 * variables, on a free loopback port, against a provider from the oauth2 test support. Import
 * it once per test file (the app listens when its module loads).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SECRET, type TestProvider } from '@tokenkeeper/oauth2/testing';

export interface RunningExample {
  /** The app's origin, `http://127.0.0.1:<port>`. */
  url: string;
  close(): Promise<void>;
}

export async function startExample(provider: TestProvider): Promise<RunningExample> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  Object.assign(process.env, {
    PUBLIC_URL: url,
    PORT: String(port),
    OAUTH_ISSUER: provider.issuer,
    API_URL: provider.api,
    CLIENT_ID: 'basic-client',
    CLIENT_SECRET: SECRET,
    CONNECT_SECRET: 'the-example-connect-secret-of-32-chars',
    COOKIE_SECRET: 'the-example-cookie-secret-of-32-chars!',
  });
  const { server } = await import('../src/main.js');
  if (!server.listening)
    await new Promise((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  return {
    url,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
