import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const entry = fileURLToPath(new URL('../bench/dist/run.js', import.meta.url));

function onPath(command: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// Figures are never asserted: a smoke run is too short and the machine too shared. This only
// proves that every scenario still starts, finishes and prints its table.
describe('benchmarks', () => {
  it('still start and print every table in a smoke run', async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', entry, '--smoke'], { timeout: 110_000 });
    // 1, hot path
    expect(stdout).toContain('session.token() on a fresh token');
    expect(stdout).toMatch(/await token\(\)\s+\d+\.\d/);
    expect(stdout).toMatch(/one authorized request: tokenkeeper against a hard-coded header/);
    expect(stdout).toMatch(/axios, no network \(adapter answers at once\)\s+\d+\s+\d+\s+-?\d+\s+\d+\.\d+x/);
    expect(stdout).toMatch(/session\.fetch vs fetch over loopback\s+\d+/);
    expect(stdout).toMatch(/one request, CPU of the calling process/);
    expect(stdout).toMatch(/session\.fetch\s+\d+\.\d\s+\d+\.\d+x/);
    expect(stdout).toMatch(/axios with the tokenkeeper interceptor\s+\d+\.\d\s+\d+\.\d+x/);
    // issue 2's herd on a manual clock
    expect(stdout).toMatch(/herd: 100 concurrent session\.fetch on an expired session/);
    expect(stdout).toMatch(/upstream refreshes per round\s+1\.00/);
    // 2, server overhead
    expect(stdout).toMatch(/server overhead: Express route making one upstream call/);
    expect(stdout).toMatch(/server overhead: Koa route making one upstream call/);
    expect(stdout).toMatch(/server overhead: Fastify route making one upstream call/);
    expect(stdout).toMatch(/tokenkeeper, signed cookie\s+\d+\s+\d+\.\d%/);
    expect(stdout).toMatch(/hard-coded header, empty middleware\s+\d+\s+\d+\.\d%/);
    // the Redis rows come where redis-server is on PATH, the near cache's with the plain one
    if (/tokenkeeper, sessionKey, Redis store\s+\d/.test(stdout)) {
      expect(stdout).toMatch(/tokenkeeper, sessionKey, Redis store, near cache\s+\d+\s+\d+\.\d%/);
    }
    // 3, expiry under steady traffic
    expect(stdout).toMatch(/expiry under steady traffic: 20 concurrent clients/);
    expect(stdout).toMatch(/axios-auth-refresh, deduplicateRefresh: false\s+\d+/);
    expect(stdout).toMatch(/axios-auth-refresh, expert \(false \+ skip stale 401s\)\s+\d+/);
    // 4, herd through axios
    expect(stdout).toMatch(/herd: 300 concurrent axios requests on one expired session/);
    expect(stdout).toMatch(/tokenkeeper, token killed early \(learns from 401s\)\s+\d/);
    expect(stdout).toMatch(/herd, unbounded socket pool: 100 concurrent axios requests on one session killed upstream/);
    expect(stdout).toMatch(/axios-auth-refresh, expert \(false \+ skip stale 401s\)\s+\d+\.\d\s+\d+\s+\d+ of 1\s/);
    // 5, scale
    expect(stdout).toMatch(/scale: 2,000 sessions in the memory store/);
    expect(stdout).toMatch(/peak keep-alive renewals at once \(bound 8\)\s+[1-8]\b/);
    // 6, many instances on one Redis (a table that says "skipped" where redis-server is missing)
    expect(stdout).toMatch(/many instances: 4 processes on one expired session through one Redis/);
    // 7, OAuth 2.0 against oidc-provider
    expect(stdout).toMatch(/oauth2 herd: 100 concurrent session\.fetch on one session, against oidc-provider/);
    expect(stdout).toMatch(/token revoked early \(learns from 401s\)\s+\d/);
    expect(stdout).toMatch(/oauth2 steady traffic: 5 clients for 2 lifetimes of 2 s/);
    expect(stdout).toMatch(/\nsummary\n/);
  }, 120_000);

  // Figures are never asserted (a smoke run is five requests a window): this proves the opt-in
  // scenario still starts the apps under valgrind, counts them and prints its tables.
  it('counts every app variant under callgrind in a smoke run, or says valgrind is missing', async () => {
    // Ten processes under valgrind, one after another: about two minutes on an idle machine.
    const { stdout } = await run(process.execPath, ['--expose-gc', entry, '--only=instructions', '--smoke'], { timeout: 540_000 });
    if (!onPath('valgrind') || !onPath('callgrind_control')) {
      expect(stdout).toContain('skipped: valgrind (with callgrind_control) is not on PATH');
      return;
    }
    for (const framework of ['Express', 'Koa', 'Fastify']) {
      expect(stdout).toContain(`each app variant against its hard-coded header: ${framework}, 2 windows of 5 sequential requests`);
    }
    expect(stdout).toMatch(/tokenkeeper, sessionKey\s+\d+\.\dk\s+\d+\.\d%\s+\d+\.\dk\s+\d+\.\d%/);
    expect(stdout).toMatch(/express, tokenkeeper, sessionKey: instructions per request of baseline \(cheapest window\)\s+\d+\.\d%/);
    expect(stdout).toContain('each client against its hard-coded header, 2 windows of 5 sequential calls per caller');
    for (const caller of ['session.fetch', 'axios+tokenkeeper']) {
      expect(stdout).toMatch(new RegExp(`\\n${caller.replace('.', '\\.').replace('+', '\\+')}\\s+\\d+\\.\\dk\\s+\\d+\\.\\d%`));
    }
    expect(stdout).toMatch(/session\.fetch against fetch with a hard-coded header: instructions per call \(cheapest window\)\s+\d+\.\d%/);
  }, 560_000);
});
