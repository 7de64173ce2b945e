/**
 * A long job with one service session: it logs in once with `service: true`, and the keeper's
 * keep-alive renews the token in the background while axios calls go on, past several token
 * lifetimes. Runs against the fake upstream (the session-renew protocol, `sessionRenew`) with short real lifetimes.
 *
 * Run: npx --yes pnpm@10.34.9 exec tsc -b examples/axios-service && node examples/axios-service/dist/main.js
 */
import { pathToFileURL } from 'node:url';
import { sessionRenew, TokenKeeper } from '@tokenkeeper/auth-core';
import { installTokenKeeper } from '@tokenkeeper/axios';
import { startFakeUpstream } from '@tokenkeeper/testing';
import axios from 'axios';

export interface JobOptions {
  /** Lifetime of each upstream token. Default 3 s. */
  tokenLifetimeMs?: number;
  /** How long the job runs. Default four token lifetimes. */
  durationMs?: number;
  /** Pause between two upstream calls. Default 250 ms. */
  intervalMs?: number;
  /** Where progress lines go. Default `console.log`. */
  log?: (line: string) => void;
}

export interface JobReport {
  /** Upstream calls the job made. */
  calls: number;
  /** Calls that did not answer 200. */
  failed: number;
  /** Background renewals (and re-logins) that replaced the token while the job ran. */
  renewals: number;
  /** Calls the upstream rejected because their token had expired (the keeper's aim: 0). */
  rejected: number;
  /** How many token lifetimes the job outlived. */
  lifetimes: number;
}

const SERVICE_ACCOUNT = { email: 'ada@example.test', password: 'ada-password-1', selectedOrg: 7 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the job against its own fake upstream and returns what happened. */
export async function runJob(options: JobOptions = {}): Promise<JobReport> {
  const lifetimeMs = options.tokenLifetimeMs ?? 3_000;
  const durationMs = options.durationMs ?? 4 * lifetimeMs;
  const intervalMs = options.intervalMs ?? 250;
  const log = options.log ?? console.log;
  const started = Date.now();
  const at = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`;

  const upstream = await startFakeUpstream({ protocol: 'sessionRenew', accessTokenLifetimeMs: lifetimeMs });
  const keeper = new TokenKeeper({
    protocol: sessionRenew({ baseUrl: upstream.url, lifetimeMs }),
    // Should a renewal ever come too late, the job logs in again rather than stop.
    credentials: () => SERVICE_ACCOUNT,
    // Tokens this short need a margin that fits in them (the default is 2 s).
    expiryMarginMs: Math.min(500, lifetimeMs / 4),
  });
  let renewals = 0;
  keeper.on('refresh', (event) => {
    renewals++;
    log(`${at()} token renewed (${event.trigger}) in ${event.durationMs} ms`);
  });
  keeper.on('login', (event) => {
    if (event.reason === 'relogin') renewals++;
    log(`${at()} ${event.reason === 'relogin' ? 'logged in again' : 'logged in'}`);
  });

  const service = keeper.session('nightly-export');
  const api = axios.create({ baseURL: upstream.url, validateStatus: () => true });
  installTokenKeeper(api, { session: service });
  let calls = 0;
  let failed = 0;
  try {
    await service.login(SERVICE_ACCOUNT, { service: true });
    while (Date.now() - started < durationMs) {
      const answer = await api.get('/user/users/me');
      calls++;
      if (answer.status !== 200) {
        failed++;
        log(`${at()} call ${calls} answered ${answer.status}`);
      }
      await sleep(intervalMs);
    }
    await service.logout();
  } finally {
    await keeper.close();
    await upstream.close();
  }
  const report = { calls, failed, renewals, rejected: upstream.stats.rejected, lifetimes: Math.floor((Date.now() - started) / lifetimeMs) };
  log(
    `${at()} done: ${report.calls} calls, ${report.failed} failed, ${report.renewals} renewals, ${report.rejected} rejected, ${report.lifetimes} token lifetimes`,
  );
  return report;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runJob().then(
    (report) => {
      process.exitCode = report.failed === 0 && report.rejected === 0 ? 0 : 1;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
