import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const entry = fileURLToPath(new URL('../bench/dist/run.js', import.meta.url));

describe('benchmarks', () => {
  it('still start and print every table in a smoke run', async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', entry, '--smoke'], { timeout: 120_000 });
    expect(stdout).toContain('session.token() on a fresh token');
    expect(stdout).toMatch(/await token\(\)\s+\d+\.\d/);
    expect(stdout).toMatch(/herd: 100 concurrent session\.fetch on an expired session/);
    expect(stdout).toMatch(/upstream refreshes per round\s+1\.00/);
    expect(stdout).toMatch(/scale: 2,000 sessions in the memory store/);
    expect(stdout).toMatch(/peak keep-alive renewals at once \(bound 8\)\s+[1-8]\b/);
  });
});
