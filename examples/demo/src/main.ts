/**
 * The README demo: a fake upstream with 3-second tokens, and one keeper walking sessions
 * through login, proactive renewal, a forced expiry signal and its single retry, logout, and a
 * session that lapses because nobody can log it in again. Prints a timeline as it goes.
 *
 * Run: npx --yes pnpm@10.34.9 demo
 */
import { sessionRenew, TokenKeeper } from '@tokenkeeper/auth-core';
import { startFakeUpstream } from '@tokenkeeper/testing';

const LIFETIME_MS = 3_000;
const started = Date.now();

function line(who: string, what: string, detail = ''): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(2).padStart(6);
  console.log(`[${seconds}s] ${who.padEnd(8)} ${what.padEnd(26)} ${detail}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runDemo(): Promise<{ rejected: number; renewals: number; logins: number }> {
  const upstream = await startFakeUpstream({ protocol: 'sessionRenew', accessTokenLifetimeMs: LIFETIME_MS });
  const credentials = {
    ada: { email: 'ada@example.test', password: 'ada-password-1', selectedOrg: 7 },
    grace: { email: 'grace@example.test', password: 'grace-password-2', selectedOrg: 7 },
  };
  const keeper = new TokenKeeper({
    protocol: sessionRenew({ baseUrl: upstream.url, lifetimeMs: LIFETIME_MS }),
    // Only ada's app may log her in again; grace's session ends when it can no longer be renewed.
    credentials: (key) => (key === 'ada' ? credentials.ada : undefined),
  });
  keeper.on('login', (event) => line(event.key, event.reason === 'login' ? 'logged in' : 'logged in again', `${event.durationMs} ms`));
  keeper.on('refresh', (event) => line(event.key, `renewed (${event.trigger})`, `${event.durationMs} ms, valid ${((event.expiresAt - Date.now()) / 1000).toFixed(1)} s`));
  keeper.on('expired', (event) => line(event.key, 'session expired', event.reason));
  keeper.on('logout', (event) => line(event.key, 'logged out'));
  keeper.on('error', (event) => line(event.key, `error in ${event.operation}`, event.error.code));

  console.log(`fake upstream (seed 000, "sessionRenew") at ${upstream.url}; tokens live ${LIFETIME_MS / 1000} s\n`);
  const ada = keeper.session('ada');
  const grace = keeper.session('grace');
  await ada.login(credentials.ada);
  await grace.login(credentials.grace);

  const call = async (who: string, session: typeof ada) => {
    const response = await session.fetch('/user/users/me');
    const body = (await response.json()) as { email?: string };
    line(who, `GET /user/users/me → ${response.status}`, body.email ?? '');
  };

  for (let round = 0; round < 4; round++) {
    await call('ada', ada);
    await call('grace', grace);
    await sleep(LIFETIME_MS / 2);
  }

  line('upstream', 'drops ada’s token early', 'the next call gets a 403');
  upstream.expireAccessToken(await ada.token());
  await call('ada', ada);

  await grace.logout();
  try {
    await grace.fetch('/user/users/me');
  } catch (error) {
    line('grace', 'call after logout', (error as { code: string }).code);
  }

  line('upstream', 'the app stalls', `${(LIFETIME_MS + 500) / 1000} s without a renewal`);
  await keeper.close(); // stops keep-alive, as a frozen process would
  const stalled = new TokenKeeper({
    protocol: sessionRenew({ baseUrl: upstream.url, lifetimeMs: LIFETIME_MS }),
    credentials: (key) => (key === 'ada' ? credentials.ada : undefined),
    keepAlive: false,
  });
  stalled.on('login', (event) => line(event.key, event.reason === 'login' ? 'logged in' : 'logged in again', `${event.durationMs} ms`));
  stalled.on('expired', (event) => line(event.key, 'session expired', event.reason));
  await stalled.session('ada').login(credentials.ada);
  await stalled.session('grace').login(credentials.grace);
  await sleep(LIFETIME_MS + 500);
  await call('ada', stalled.session('ada'));
  try {
    await stalled.session('grace').fetch('/user/users/me');
  } catch (error) {
    line('grace', 'call after the stall', (error as { code: string }).code);
  }

  const { logins, renewals, rejected } = upstream.stats;
  console.log(`\nupstream saw: ${logins} logins, ${renewals} renewals, ${rejected} rejected requests`);
  await stalled.close();
  await upstream.close();
  return { logins, renewals, rejected };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  await runDemo();
}
