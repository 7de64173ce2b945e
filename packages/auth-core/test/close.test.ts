import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startFakeUpstream } from '@tokenkeeper/testing';
import { afterEach, describe, expect, it } from 'vitest';

const distEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
let close: (() => Promise<void>) | undefined;
afterEach(() => close?.());

/** Runs a script in a fresh Node process; resolves with its exit code and output, or kills it after `limitMs`. */
function runNode(
  script: string,
  env: Record<string, string>,
  limitMs: number,
): Promise<{ code: number | null; output: string; killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const guard = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, output, killed: signal === 'SIGKILL' });
    });
  });
}

describe('keeper.close()', () => {
  it('leaves no timer or socket that keeps the process alive', async () => {
    const upstream = await startFakeUpstream({ protocol: 'basicAuth' });
    close = () => upstream.close();
    const script = `
      import { TokenKeeper, basicAuth } from ${JSON.stringify(distEntry)};
      const keeper = new TokenKeeper({ protocol: basicAuth({ baseUrl: process.env.UPSTREAM }), keepAlive: true });
      const session = keeper.session('ada');
      await session.login({ username: 'ada', password: 'ada-password-1' });
      const response = await session.fetch('/api/core/v2/namespaces');
      console.log('status', response.status, 'planned', keeper.stats.keepAlivePlanned);
      await keeper.close();
      await new Promise((resolve) => setImmediate(resolve));
      console.log('closed', keeper.stats.keepAlivePlanned);
      // Nothing else runs: the process must now exit by itself.
    `;
    const result = await runNode(script, { UPSTREAM: upstream.url }, 15_000);
    expect(result.output).toContain('status 200 planned 1');
    expect(result.output).toContain('closed 0');
    expect(result.killed).toBe(false);
    expect(result.code).toBe(0);
  });
});
