/**
 * The NestJS snippet, built the way a user builds it: `tsc -p` with the tsconfig the README
 * shows, then `node dist/main.js`, against the fake upstream.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startFakeUpstream } from '@tokenkeeper/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, SECRET, USER_IDS } from '../support.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const tsc = fileURLToPath(new URL('../../../node_modules/typescript/bin/tsc', import.meta.url));
const run = promisify(execFile);

const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
let app: ChildProcess;
let url: string;
beforeAll(async () => {
  await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: here });
  app = spawn(process.execPath, ['dist/main.js'], {
    cwd: here,
    env: { ...process.env, UPSTREAM_URL: upstream.url, COOKIE_SECRET: SECRET, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let printed = '';
  for await (const chunk of app.stdout!) {
    printed += chunk;
    const listening = /listening on (http:\/\/\S+)/.exec(printed);
    if (listening) {
      url = listening[1]!.replace('[::1]', '127.0.0.1');
      break;
    }
  }
  app.stdout!.resume();
}, 60_000);
afterAll(async () => {
  if (app.exitCode === null && app.signalCode === null) {
    app.kill('SIGTERM');
    await once(app, 'exit');
  }
  await upstream.close();
});

describe('the NestJS snippet (README.md, packages/nestjs/README.md), built with its tsconfig', () => {
  it("logs a user in, serves the upstream's report as that user, and logs out", async () => {
    const ada = new Browser(url);

    expect(await ada.get('/reports/call-data')).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
    expect(await ada.login({ username: 'ada', password: 'ada-password-1' })).toMatchObject({ status: 200, body: { status: 'active' } });
    expect(await ada.get('/reports/call-data')).toMatchObject({ status: 200, body: { userId: USER_IDS.ada } });
    expect((await ada.request('POST', '/logout')).status).toBe(204);
    expect(await ada.get('/reports/call-data')).toMatchObject({ status: 401, body: { error: 'NOT_LOGGED_IN' } });
  });

  it("passes the upstream's status through: an unknown report is a 404, a wrong password a 401", async () => {
    const grace = new Browser(url);

    expect(await grace.login({ username: 'grace', password: 'wrong' })).toMatchObject({
      status: 401,
      body: { error: 'INVALID_CREDENTIALS' },
    });
    await grace.login({ username: 'grace', password: 'grace-password-2' });
    expect((await grace.get('/reports/no-such-report')).status).toBe(404);
  });

  it('stops on SIGTERM after its shutdown hooks ran (Nest then re-raises the signal)', async () => {
    app.kill('SIGTERM');
    const [code, signal] = await once(app, 'exit');

    expect({ code, signal }).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('needs the decorator settings it shows: without experimentalDecorators it does not compile', async () => {
    const failed = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit', '--experimentalDecorators', 'false'], {
      cwd: here,
    }).catch((error: { stdout: string }) => error);

    expect((failed as { stdout?: string }).stdout).toMatch(/error TS\d+/);
  });
});
