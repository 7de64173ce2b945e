/**
 * Scenario 1, the hot path: `session.token()` on a fresh token, and one authorized request
 * through the axios interceptor (and through `session.fetch`) against the same request with a
 * hard-coded header. Also issue 2's herd: 1,000 concurrent `session.fetch` calls on an expired
 * session (time to settle, upstream renewals), on a manual clock.
 */
import { Agent } from 'node:http';
import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { installTokenKeeper } from '@tokenkeeper/axios';
import { createManualClock, startFakeUpstream } from '@tokenkeeper/testing';
import axios, { type AxiosAdapter, type AxiosInstance } from 'axios';
import { addSummary, alternate, compareNsPerOp, fixed, median, nsPerOp, printTable, smoke } from './measure.js';
import { ADA, startUpstream } from './upstream.js';

/** `fetch` with the hard-coded header, bounded as `session.fetch` bounds each try (`requestTimeoutMs`, 30 s): its floor. */
export async function boundedFetch(url: string, token: string): Promise<Response> {
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(), 30_000);
  try {
    return await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: timer.signal });
  } finally {
    clearTimeout(timeout);
  }
}

export async function benchCore(): Promise<void> {
  const clock = createManualClock();
  const upstream = await startFakeUpstream({ protocol: 'refreshToken', clock });
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: upstream.url }), clock, keepAlive: false });
  const session = keeper.session('ada');
  await session.login({ username: 'ada', password: 'ada-password-1' });

  const calls = smoke ? 20_000 : 2_000_000;
  const callOnly = await nsPerOp((count) => {
    for (let index = 0; index < count; index++) void session.token();
  }, calls);
  const awaited = await nsPerOp(async (count) => {
    for (let index = 0; index < count; index++) await session.token();
  }, calls);
  const sessionHandle = await nsPerOp((count) => {
    for (let index = 0; index < count; index++) void keeper.session('ada');
  }, calls);
  printTable('session.token() on a fresh token', [
    { operation: 'token() call (promise not awaited)', 'ns/op': fixed(callOnly) },
    { operation: 'await token()', 'ns/op': fixed(awaited) },
    { operation: 'keeper.session(key) (a handle, no I/O)', 'ns/op': fixed(sessionHandle) },
  ]);
  addSummary('1 hot path', 'await session.token(), fresh token', `${fixed(awaited)} ns`, '', '');

  // ── one authorized request: the interceptor against a hard-coded header ──
  const token = await session.token();
  const url = `${upstream.url}/reports/call-data`;
  const httpAgent = new Agent({ keepAlive: true });
  // No network: an adapter that answers at once, so what differs is the interceptors' own cost.
  const answerAtOnce: AxiosAdapter = async (config) => ({ data: {}, status: 200, statusText: 'OK', headers: {}, config, request: {} });
  const hardCoded = (adapter?: AxiosAdapter) =>
    axios.create({ baseURL: upstream.url, httpAgent, headers: { authorization: `Bearer ${token}` }, ...(adapter ? { adapter } : {}) });
  const intercepted = (adapter?: AxiosAdapter) => {
    const api = axios.create({ baseURL: upstream.url, httpAgent, ...(adapter ? { adapter } : {}) });
    installTokenKeeper(api, { session });
    return api;
  };
  const requests = (api: AxiosInstance) => async (count: number) => {
    for (let index = 0; index < count; index++) await api.get('/reports/call-data');
  };
  const offline = await compareNsPerOp(
    { baseline: requests(hardCoded(answerAtOnce)), tokenkeeper: requests(intercepted(answerAtOnce)) },
    smoke ? 500 : 10_000,
  );
  const loopback = await compareNsPerOp({ baseline: requests(hardCoded()), tokenkeeper: requests(intercepted()) }, smoke ? 50 : 1_000);
  const fetched = await compareNsPerOp(
    {
      baseline: async (count) => {
        for (let index = 0; index < count; index++)
          await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
      },
      tokenkeeper: async (count) => {
        for (let index = 0; index < count; index++) await (await session.fetch('/reports/call-data')).arrayBuffer();
      },
      // The hard-coded header with what bounds every session.fetch try: a 30 s timeout signal.
      bounded: async (count) => {
        for (let index = 0; index < count; index++) await (await boundedFetch(url, token)).arrayBuffer();
      },
    },
    smoke ? 50 : 1_000,
  );
  httpAgent.destroy();
  const compared = (operation: string, figures: Record<string, number>) => ({
    operation,
    'hard-coded header ns/op': fixed(figures.baseline!, 0),
    'tokenkeeper ns/op': fixed(figures.tokenkeeper!, 0),
    'added ns': fixed(figures.tokenkeeper! - figures.baseline!, 0),
    'time ratio': `${fixed(figures.tokenkeeper! / figures.baseline!, 3)}x`,
  });
  printTable('one authorized request: tokenkeeper against a hard-coded header (sequential, medians of interleaved samples)', [
    compared('axios, no network (adapter answers at once)', offline),
    compared('axios over loopback to the fake upstream', loopback),
    compared('session.fetch vs fetch over loopback', fetched),
    compared('fetch with a 30 s timeout signal vs fetch (session.fetch bounds each try so)', {
      baseline: fetched.baseline!,
      tokenkeeper: fetched.bounded!,
    }),
  ]);
  const summarize = (measure: string, figures: Record<string, number>) =>
    addSummary(
      '1 hot path',
      measure,
      `${fixed(figures.tokenkeeper! / 1000, 1)} µs`,
      `${fixed(figures.baseline! / 1000, 1)} µs (${fixed(figures.tokenkeeper! / figures.baseline!, 3)}x)`,
    );
  summarize('axios request, interceptor vs hard-coded header, no network', offline);
  summarize('axios request over loopback', loopback);
  summarize('session.fetch vs fetch over loopback', fetched);
  await fetchCpu();

  const herdSize = smoke ? 100 : 1_000;
  const rounds = smoke ? 1 : 5;
  const settleMs: number[] = [];
  let renewals = 0;
  for (let round = 0; round < rounds; round++) {
    await clock.advance(3_600_000 + 1_000); // past expiry
    upstream.stats.reset();
    const start = performance.now();
    const responses = await Promise.all(Array.from({ length: herdSize }, () => session.fetch('/reports/call-data')));
    settleMs.push(performance.now() - start);
    await Promise.all(responses.map((response) => response.arrayBuffer()));
    renewals += upstream.stats.refreshes;
    if (responses.some((response) => response.status !== 200)) throw new Error('a herd request failed');
  }
  printTable(`herd: ${herdSize} concurrent session.fetch on an expired session (${rounds} rounds)`, [
    { measure: 'time to settle, median (ms)', value: fixed(median(settleMs)) },
    { measure: 'upstream refreshes per round', value: fixed(renewals / rounds, 2) },
    { measure: 'requests per round that failed', value: 0 },
  ]);

  await keeper.close();
  await upstream.close();
}

/**
 * `session.fetch` against bare `fetch`, and the axios interceptor against axios with a
 * hard-coded header, in CPU time of this process per request, with the fake upstream in a child
 * process: wall time over loopback swings with the machine, CPU time hardly does. Rounds of
 * sequential requests, the variants alternating; medians of per-round ratios.
 */
async function fetchCpu(): Promise<void> {
  const upstream = await startUpstream({ protocol: 'refreshToken' });
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: upstream.url }), keepAlive: false });
  try {
    const session = keeper.session('ada');
    await session.login(ADA);
    const token = await session.token();
    const url = `${upstream.url}/reports/call-data`;
    const count = smoke ? 100 : 2_000;
    const cpuPerRequest = (send: () => Promise<unknown>) => async () => {
      const before = process.cpuUsage();
      for (let index = 0; index < count; index++) await send();
      const used = process.cpuUsage(before);
      return (used.user + used.system) / count;
    };
    const httpAgent = new Agent({ keepAlive: true });
    const axiosHardCoded = axios.create({ baseURL: upstream.url, httpAgent, headers: { authorization: `Bearer ${token}` } });
    const axiosIntercepted = axios.create({ baseURL: upstream.url, httpAgent });
    installTokenKeeper(axiosIntercepted, { session });
    const variants = {
      baseline: cpuPerRequest(async () => (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer()),
      bounded: cpuPerRequest(async () => (await boundedFetch(url, token)).arrayBuffer()),
      tokenkeeper: cpuPerRequest(async () => (await session.fetch('/reports/call-data')).arrayBuffer()),
      axiosBaseline: cpuPerRequest(() => axiosHardCoded.get('/reports/call-data')),
      axiosTokenkeeper: cpuPerRequest(() => axiosIntercepted.get('/reports/call-data')),
    };
    for (const run of Object.values(variants)) await run(); // warm up
    const rounds = await alternate(variants, smoke ? 2 : 20);
    httpAgent.destroy();
    type Name = keyof typeof variants;
    const ratio = (name: Name, base: Name) => median(rounds[name]!.map((micros, round) => micros / rounds[base]![round]!));
    const row = (operation: string, name: Name, base: Name) => ({
      operation,
      'CPU µs/request (median)': fixed(median(rounds[name]!)),
      'vs its baseline (median of rounds)': `${fixed(ratio(name, base), 3)}x`,
    });
    printTable(`one request, CPU of the calling process (upstream in a child process, ${rounds.baseline!.length} rounds of ${count})`, [
      row('fetch with a hard-coded header', 'baseline', 'baseline'),
      row('the same with a 30 s timeout signal', 'bounded', 'baseline'),
      row('session.fetch', 'tokenkeeper', 'baseline'),
      row('axios with a hard-coded header', 'axiosBaseline', 'axiosBaseline'),
      row('axios with the tokenkeeper interceptor', 'axiosTokenkeeper', 'axiosBaseline'),
    ]);
    addSummary(
      '1 hot path',
      'axios interceptor vs hard-coded header, CPU per request',
      `${fixed(ratio('axiosTokenkeeper', 'axiosBaseline'), 3)}x`,
      `${fixed(median(rounds.axiosBaseline!), 1)} µs hard-coded`,
      '≤ 1.02x',
    );
    addSummary(
      '1 hot path',
      'session.fetch vs fetch, CPU per request',
      `${fixed(ratio('tokenkeeper', 'baseline'), 3)}x`,
      `timeout signal ${fixed(ratio('bounded', 'baseline'), 3)}x`,
      '≤ 1.02x',
    );
  } finally {
    await keeper.close();
    await upstream.close();
  }
}
