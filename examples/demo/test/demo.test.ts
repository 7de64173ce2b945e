import { describe, expect, it, vi } from 'vitest';
import { runDemo } from '../src/main.js';

describe('the README demo', () => {
  it('walks sessions through renewal, a forced rejection, logout and a lapse, and prints the timeline', async () => {
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
    try {
      const stats = await runDemo();
      expect(stats.rejected).toBe(1); // only the token the upstream dropped on purpose
      expect(stats.renewals).toBeGreaterThanOrEqual(2);
      expect(printed.some((line) => /ada\s+renewed \(keep-alive\)/.test(line))).toBe(true);
      expect(printed.some((line) => /grace\s+call after logout\s+NOT_LOGGED_IN/.test(line))).toBe(true);
      expect(printed.some((line) => /grace\s+call after the stall\s+SESSION_EXPIRED/.test(line))).toBe(true);
      expect(printed.at(-1)).toMatch(/^\nupstream saw: \d+ logins, \d+ renewals, 1 rejected requests$/);
    } finally {
      log.mockRestore();
    }
  });
});
