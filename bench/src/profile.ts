/**
 * CPU profiles of the hot paths, summarized as "where tokenkeeper's time goes, µs per request"
 * (see `cpu-profile.ts` for how samples are charged). Not part of `pnpm bench`:
 *
 *   node bench/dist/profile.js express-baseline express-sessionKey express-cookie express-token express-redis express-redisNear
 *   node bench/dist/profile.js fetch axios
 *
 * An `<framework>-<variant>` target profiles scenario 2's app process (`server-host.ts`, through
 * the inspector) under autocannon for `--seconds=N` (default 5); a target after its framework's
 * `-baseline` is also diffed with it, function by function. `fetch` and `axios` profile this
 * process sending sequential requests, as scenario 1 does, to the fake upstream in a child process.
 * `--out=DIR` keeps each `.cpuprofile` (open it in Chrome DevTools or speedscope).
 */
import { writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import type { Profiler } from 'node:inspector';
import { Session as InspectorSession } from 'node:inspector/promises';
import { join } from 'node:path';
import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { installTokenKeeper } from '@tokenkeeper/axios';
import autocannon from 'autocannon';
import axios from 'axios';
import { startChild } from './child.js';
import { describeProfile, diffProfiles, type ProfileSummary, summarizeProfile } from './cpu-profile.js';
import { startRedis } from './instances.js';
import type { AppName, ServerHostReady } from './server-host.js';
import { ADA, startUpstream } from './upstream.js';

const INTERVAL_MICROS = 50;
const option = (name: string) =>
  process.argv
    .find((argument) => argument.startsWith(`--${name}=`))
    ?.split('=')
    .slice(1)
    .join('=');
const seconds = Number(option('seconds') ?? 5);
const out = option('out');
const targets = process.argv.slice(2).filter((argument) => !argument.startsWith('--'));
if (targets.length === 0) throw new Error('name targets: express-cookie, koa-sessionKey, fastify-token, express-redis, fetch, axios, …');

/** Each framework's `<framework>-baseline`, once profiled, to diff its other targets with. */
const baselines = new Map<string, { summary: ProfileSummary; requests: number }>();

function report(target: string, profile: Profiler.Profile, requests: number): void {
  if (out) writeFileSync(join(out, `${target}.cpuprofile`), JSON.stringify(profile));
  const summary = summarizeProfile(profile);
  console.log(`\n${target}`);
  for (const line of describeProfile(summary, requests)) console.log(line);
  const framework = target.split('-')[0]!;
  const baseline = baselines.get(framework);
  if (target.endsWith('-baseline')) baselines.set(framework, { summary, requests });
  else if (baseline) for (const line of diffProfiles(summary, requests, baseline.summary, baseline.requests)) console.log(line);
}

const upstream = await startUpstream({ protocol: 'refreshToken' });
try {
  const apps = targets.filter((target) => target.includes('-'));
  if (apps.length > 0) {
    const redis = apps.some((target) => target.includes('-redis')) ? await startRedis() : undefined;
    const host = await startChild<ServerHostReady>('server-host', redis ? [upstream.url, redis.url] : [upstream.url]);
    try {
      for (const target of apps as AppName[]) {
        const port = host.ready.ports[target];
        if (!port) throw new Error(`no app ${target}`);
        const framework = target.split('-')[0] as keyof ServerHostReady['cookie'];
        const headers: Record<string, string> = target.endsWith('-cookie') ? { cookie: host.ready.cookie[framework]! } : {};
        const options = { url: `http://127.0.0.1:${port}/calls`, connections: 32, headers };
        await autocannon({ ...options, duration: 2 }); // warm up
        await host.call('profileStart', [INTERVAL_MICROS]);
        const result = await autocannon({ ...options, duration: seconds });
        const profile = await host.call<Profiler.Profile>('profileStop');
        if (result.non2xx + result.errors > 0) throw new Error(`${target} answered errors`);
        report(target, profile, result.requests.total);
      }
    } finally {
      await host.close();
      await redis?.stop();
    }
  }

  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: upstream.url }) });
  const session = keeper.session('ada');
  await session.login(ADA);
  const httpAgent = new Agent({ keepAlive: true });
  const api = axios.create({ baseURL: upstream.url, httpAgent });
  installTokenKeeper(api, { session });
  // No network: an adapter that answers at once, so only the interceptor's own work is left (scenario 1's "no network" row).
  const offline = axios.create({
    baseURL: upstream.url,
    adapter: async (config) => ({ data: {}, status: 200, statusText: 'OK', headers: {}, config, request: {} }),
  });
  installTokenKeeper(offline, { session });
  const loops: Record<string, () => Promise<unknown>> = {
    fetch: async () => (await session.fetch('/reports/call-data')).arrayBuffer(),
    axios: () => api.get('/reports/call-data'),
    axiosOffline: () => offline.get('/reports/call-data'),
  };
  const inspector = new InspectorSession();
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.setSamplingInterval', { interval: INTERVAL_MICROS });
  for (const target of targets.filter((name) => !name.includes('-'))) {
    const send = loops[target];
    if (!send) throw new Error(`no target ${target}`);
    for (let index = 0; index < 2_000; index++) await send(); // warm up
    await inspector.post('Profiler.start');
    const until = performance.now() + seconds * 1000;
    let requests = 0;
    for (; performance.now() < until; requests++) await send();
    const { profile } = await inspector.post('Profiler.stop');
    report(target, profile, requests);
  }
  inspector.disconnect();
  httpAgent.destroy();
  await keeper.close();
} finally {
  await upstream.close();
}
