/**
 * The README demo: tokenkeeper explained by running it. Two vendors' APIs (fake ones, from
 * @tokenkeeper/testing), an Express app in front of each, and two of the app's users, ada and
 * grace, driven over HTTP. Time is simulated with a manual clock, so three hours pass in a
 * second and every line says when it happened (`+01:15:00`).
 *
 * Run from the repository root: npx --yes pnpm@10.34.9 run demo
 */
import { type RunningExample, start } from '@tokenkeeper/example-express';
import { createManualClock, type FakeProtocol } from '@tokenkeeper/testing';

const MINUTE = 60_000;
const LIFETIME_MS = 15 * MINUTE;
/** How many requests grace's dashboard sends at once in act 2. */
const BURST = 25;

export interface DemoFacts {
  /** Renewals of a still-valid token in act 1 (ada's and grace's). */
  renewals: number;
  /** Act 2's burst: requests sent at once on an expired token, and the refreshes they caused. */
  burst: { requests: number; answeredOk: number; refreshes: number };
  /** Upstream logins over the whole demo (one per user and vendor). */
  logins: number;
}

export async function runDemo(print: (line: string) => void = console.log): Promise<DemoFacts> {
  const clock = createManualClock(Date.UTC(2026, 11, 1, 9, 0, 0));
  const startedAt = clock.now();
  const at = (time = clock.now()) => {
    const seconds = Math.round((time - startedAt) / 1000);
    const [h, m, s] = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60];
    return `+${[h, m, s].map((part) => String(part).padStart(2, '0')).join(':')}`;
  };
  const say = (who: string, what: string) => print(`${at()}  ${who.padEnd(6)} ${what}`);
  const explain = (text: string) => print(`\n${text}`);

  /** Moves simulated time forward a minute at a time, letting tokenkeeper's background work finish. */
  const apps: RunningExample[] = [];
  const pass = async (ms: number) => {
    for (let left = ms; left > 0; left -= MINUTE) {
      await clock.advance(Math.min(MINUTE, left));
      while (apps.some(({ keeper }) => keeper.stats.renewing > 0 || keeper.stats.keepAliveRunning > 0)) await realPause();
    }
  };

  explain(
    [
      'tokenkeeper demo: simulated time, nothing waits.',
      '',
      'Your app is an Express server. Two of its users, ada and grace, each have an account at a',
      "vendor's API, and your app calls that API as each of them. tokenkeeper logs each one in to",
      'the vendor and keeps their upstream session (the tokens) on the server, one per user;',
      'their browsers only get a session cookie. Vendor tokens live 15 minutes.',
    ].join('\n'),
  );

  // ── Act 1: renew ────────────────────────────────────────────────────────────────────────
  const renewVendor = await open('sessionRenew');
  explain(
    [
      'Act 1, renew. This vendor issues 15-minute tokens and can only RENEW one: extend it while',
      'it is still valid. tokenkeeper renews in the background, before expiry, for every user who',
      'used the app in the last 30 minutes. Once a token has expired, only a new login helps.',
    ].join('\n'),
  );
  const ada = new Browser('ada', renewVendor.url, say);
  const grace = new Browser('grace', renewVendor.url, say);
  watch(renewVendor, [ada, grace], say, at, 'renewed the still-valid token');
  await ada.login({ email: 'ada@example.test', password: 'ada-password-1', selectedOrg: 7 });
  await grace.login({ email: 'grace@example.test', password: 'grace-password-2', selectedOrg: 8 });
  await pass(5 * MINUTE);
  await grace.get('/me');
  say('grace', '(closes the app and goes to lunch)');
  for (let minute = 5; minute < 50; minute += 10) {
    await ada.get('/me');
    await pass(10 * MINUTE);
  }
  const renewals = renewVendor.upstream.stats.renewals;
  say('grace', 'is back from lunch, 50 minutes after her last request');
  await grace.get('/me');
  explain('Her token expired while nobody used it, and a renew-only vendor cannot extend an expired token: she logs in again.');
  await grace.login({ email: 'grace@example.test', password: 'grace-password-2', selectedOrg: 8 });
  await grace.get('/me');
  await renewVendor.close();
  await pass(5 * MINUTE);

  // ── Act 2: refresh ──────────────────────────────────────────────────────────────────────
  const refreshVendor = await open('refreshToken');
  explain(
    [
      'Act 2, refresh. This vendor also gives a REFRESH token (valid 30 days). When the access',
      'token has expired, tokenkeeper trades the refresh token for a new pair; the old refresh token',
      'is then spent, so two refreshes of one session must never run at once. Keep-alive works here',
      'too, for 30 minutes of absence; after that a session waits, unused, for its next request.',
    ].join('\n'),
  );
  const ada2 = new Browser('ada', refreshVendor.url, say);
  const grace2 = new Browser('grace', refreshVendor.url, say);
  watch(refreshVendor, [ada2, grace2], say, at, 'refreshed (refresh token traded for new tokens)');
  await ada2.login({ username: 'ada', password: 'ada-password-1' });
  await grace2.login({ username: 'grace', password: 'grace-password-2' });
  say('both', '(go away for two hours: their access tokens expire, their refresh tokens do not)');
  await pass(120 * MINUTE);

  say('grace', `opens her dashboard: ${BURST} requests at once, all on her expired token`);
  const refreshesBefore = refreshVendor.upstream.stats.refreshes;
  const answers = await Promise.all(Array.from({ length: BURST }, () => grace2.get('/data', { quiet: true })));
  const refreshes = refreshVendor.upstream.stats.refreshes - refreshesBefore;
  const answeredOk = answers.filter((answer) => answer.status === 200).length;
  say('grace', `${answeredOk} of ${BURST} requests → 200, after ${refreshes} refresh (single flight: the others waited for it)`);

  await ada2.get('/data');
  await ada2.post('/logout');
  await ada2.get('/data');

  const logins = renewVendor.upstream.stats.logins + refreshVendor.upstream.stats.logins;
  explain(
    [
      `In all: ${logins} logins, ${renewals} renewals in act 1, ${refreshVendor.upstream.stats.refreshes} refreshes in act 2,`,
      `${refreshVendor.upstream.stats.reuseDetections} refresh tokens presented twice. The app's code never saw a token.`,
    ].join('\n'),
  );
  await refreshVendor.close();
  return { renewals, burst: { requests: BURST, answeredOk, refreshes }, logins };

  async function open(protocol: FakeProtocol): Promise<RunningExample> {
    const app = await start({ protocol, clock, accessTokenLifetimeMs: LIFETIME_MS });
    apps.push(app);
    return app;
  }
}

/** Why a renewal ran, in words. */
const TRIGGERS: Record<string, string> = {
  'keep-alive': 'in the background, before it expired',
  proactive: 'in the background, as a request found it near expiry',
  expired: 'while the requests on it waited',
  rejected: 'after the vendor refused it early',
};

/** Prints what tokenkeeper does on the app's behalf, named by the user it does it for. */
function watch(
  app: RunningExample,
  users: Browser[],
  say: (who: string, what: string) => void,
  at: (time: number) => string,
  renewed: string,
) {
  const userOf = (key: string) => users.find((user) => user.sessionKey === key) ?? users.find((user) => user.loggingIn);
  const nameOf = (key: string) => userOf(key)?.name ?? '?';
  app.keeper.on('login', (event) => say(nameOf(event.key), '  tokenkeeper: logged in at the vendor'));
  app.keeper.on('refresh', (event) =>
    say(nameOf(event.key), `  tokenkeeper: ${renewed} ${TRIGGERS[event.trigger] ?? event.trigger} → valid until ${at(event.expiresAt)}`),
  );
  app.keeper.on('expired', (event) => say(nameOf(event.key), `  tokenkeeper: session over (${event.reason})`));
  app.keeper.on('logout', (event) =>
    say(
      nameOf(event.key),
      userOf(event.key)?.loggingIn ? '  tokenkeeper: dropped her ended session' : '  tokenkeeper: logged out at the vendor',
    ),
  );
  app.keeper.on('error', (event) => say(nameOf(event.key), `  tokenkeeper: ${event.operation} failed: ${event.error.code}`));
}

/** A browser, as far as the demo needs one: it keeps the session cookie the app sets. */
class Browser {
  cookie = '';
  loggingIn = false;
  constructor(
    readonly name: string,
    readonly url: string,
    readonly say: (who: string, what: string) => void,
  ) {}

  async login(credentials: object): Promise<void> {
    this.loggingIn = true; // the login event fires before the cookie arrives
    try {
      await this.request('POST', '/login', credentials);
    } finally {
      this.loggingIn = false;
    }
  }

  get(path: string, options: { quiet?: boolean } = {}) {
    return this.request('GET', path, undefined, options);
  }

  post(path: string) {
    return this.request('POST', path);
  }

  async request(method: string, path: string, body?: object, { quiet = false } = {}): Promise<{ status: number; text: string }> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { cookie: this.cookie, ...(body && { 'content-type': 'application/json' }) },
      body: body && JSON.stringify(body),
    });
    const setCookie = response.headers.getSetCookie()[0];
    if (setCookie) this.cookie = setCookie.split(';')[0]!;
    const text = await response.text();
    if (!quiet) this.say(this.name, `${method} ${path} → ${response.status}${response.ok ? '' : ` ${text}`}`);
    return { status: response.status, text };
  }

  /** The session id inside the signed cookie: the key tokenkeeper's events name. */
  get sessionKey(): string {
    return this.cookie.split('=')[1]?.split('.')[0] ?? '';
  }
}

/** A real-time pause, for HTTP round trips a simulated clock does not move. */
function realPause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 2));
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  await runDemo();
}
