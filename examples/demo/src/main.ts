/**
 * The README demo. Starts the Express example against a fake upstream (rotating
 * refresh tokens) whose tokens live 3 seconds, logs two users in over HTTP, calls the upstream
 * as each of them across several token lifetimes, forces a 401, logs one out, and prints a
 * timeline of what the app's users and tokenkeeper did, with the upstream's counters at the end.
 *
 * Run from the repository root: npx --yes pnpm@10.34.9 demo
 */
import { start } from '@tokenkeeper/example-express';

const LIFETIME_MS = 3_000;
const started = Date.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function line(who: string, what: string, detail = ''): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(2).padStart(6);
  console.log(`[${seconds}s] ${who.padEnd(9)} ${what.padEnd(34)} ${detail}`.trimEnd());
}

/** A browser, as far as the demo needs one: it keeps the session cookie the app sets. */
class Browser {
  cookie = '';
  constructor(
    readonly name: string,
    readonly baseUrl: string,
  ) {}

  async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { cookie: this.cookie, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const setCookie = response.headers.getSetCookie()[0];
    if (setCookie) this.cookie = setCookie.split(';')[0]!;
    const text = await response.text();
    line(this.name, `${method} ${path} → ${response.status}`, text.length > 60 ? `${text.slice(0, 57)}...` : text);
    return { status: response.status, text };
  }

  /** The session id inside the signed cookie: the key tokenkeeper's events name. */
  get sessionKey(): string {
    return this.cookie.split('=')[1]?.split('.')[0] ?? '';
  }
}

export async function runDemo(): Promise<{ logins: number; refreshes: number; rejected: number; reuseDetections: number }> {
  const example = await start({ protocol: 'refreshToken', accessTokenLifetimeMs: LIFETIME_MS });
  const { keeper, upstream } = example;
  const ada = new Browser('ada', example.url);
  const grace = new Browser('grace', example.url);
  // A login event fires before the browser has its cookie: it belongs to whoever is logging in.
  let loggingIn: Browser | undefined;
  const nameOf = (key: string) => [ada, grace].find((browser) => browser.sessionKey === key)?.name ?? loggingIn?.name ?? '?';
  const login = async (browser: Browser, credentials: object) => {
    loggingIn = browser;
    await browser.request('POST', '/login', credentials);
    loggingIn = undefined;
  };

  keeper.on('login', (event) =>
    line(
      nameOf(event.key),
      `  tokenkeeper: ${event.reason === 'login' ? 'logged in upstream' : 'logged in again'}`,
      `${event.durationMs} ms`,
    ),
  );
  keeper.on('refresh', (event) =>
    line(
      nameOf(event.key),
      `  tokenkeeper: renewed (${event.trigger})`,
      `${event.durationMs} ms, new token valid ${((event.expiresAt - Date.now()) / 1000).toFixed(1)} s`,
    ),
  );
  keeper.on('retry', (event) =>
    line(
      nameOf(event.key),
      '  tokenkeeper: upstream said 401',
      event.renewed ? 'renewed it; retrying once' : 'retrying once with the newer token',
    ),
  );
  keeper.on('expired', (event) => line(nameOf(event.key), '  tokenkeeper: session ended', event.reason));
  keeper.on('logout', (event) => line(nameOf(event.key), '  tokenkeeper: logged out'));
  keeper.on('error', (event) => line(nameOf(event.key), `  tokenkeeper: ${event.operation} failed`, event.error.code));

  console.log(`Express example at ${example.url}, fake upstream (rotating refresh tokens) at ${upstream.url}`);
  console.log(`Upstream access tokens live ${LIFETIME_MS / 1000} s; the app's code never sees one.\n`);
  try {
    await login(ada, { username: 'ada', password: 'ada-password-1' });
    await login(grace, { username: 'grace', password: 'grace-password-2' });

    for (let round = 0; round < 8; round++) {
      await ada.request('GET', '/me');
      await grace.request('GET', '/data');
      await sleep(LIFETIME_MS / 2);
    }

    line('upstream', 'answers the next call with 401', '(forced, as if the token died early)');
    upstream.faults.next('api', 'expired');
    await ada.request('GET', '/me');

    await grace.request('POST', '/logout');
    await grace.request('GET', '/me');
    await ada.request('GET', '/me');
  } finally {
    await example.close();
  }

  const { logins, refreshes, rejected, reuseDetections } = upstream.stats;
  console.log(
    `\nupstream counters: ${logins} logins, ${refreshes} refreshes, ${rejected} rejected calls (the forced one), ${reuseDetections} refresh-token reuses`,
  );
  return { logins, refreshes, rejected, reuseDetections };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  await runDemo();
}
