import { expect, it } from 'vitest';
import { runJob } from '../src/main.js';

it('keeps one service session alive past four token lifetimes, with every call answered and none rejected', async () => {
  const lines: string[] = [];
  const report = await runJob({ tokenLifetimeMs: 1_600, durationMs: 4 * 1_600, intervalMs: 100, log: (line) => lines.push(line) });
  expect(report.failed).toBe(0);
  expect(report.rejected).toBe(0);
  // Calls ran until the fourth lifetime, so at least three tokens replaced the first one.
  expect(report.renewals).toBeGreaterThanOrEqual(3);
  expect(lines.at(-1)).toMatch(/done: \d+ calls, 0 failed, \d+ renewals, 0 rejected, \d+ token lifetimes$/);
});
