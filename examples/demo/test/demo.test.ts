import { describe, expect, it, vi } from 'vitest';
import { runDemo } from '../src/main.js';

describe('the README demo', () => {
  it('logs two users in, calls across several lifetimes, retries a forced 401 once, logs one out, and prints it all', async () => {
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
    try {
      const stats = await runDemo();
      expect(stats).toMatchObject({ logins: 2, rejected: 1, reuseDetections: 0 });
      expect(stats.refreshes).toBeGreaterThanOrEqual(6); // two users across four 3-second lifetimes
      const timeline = printed.join('\n');
      expect(timeline).toMatch(/ada\s+tokenkeeper: logged in upstream/);
      expect(timeline).toMatch(/grace\s+tokenkeeper: logged in upstream/);
      expect(timeline).toMatch(/ada\s+tokenkeeper: renewed \(keep-alive\)/);
      expect(timeline).toMatch(
        /ada\s+tokenkeeper: renewed \(rejected\).*\n.*ada\s+tokenkeeper: upstream said 401\s+renewed it; retrying once\n.*ada\s+GET \/me → 200/,
      );
      expect(timeline).toMatch(/grace\s+POST \/logout → 204/);
      expect(timeline).toMatch(/grace\s+GET \/me → 401\s+\{"error":"NOT_LOGGED_IN"/);
      expect(printed.filter((line) => / → (?!200|204)\d+/.test(line) && !line.includes('grace     GET /me → 401'))).toEqual([]);
      expect(printed.at(-1)).toMatch(/^\nupstream counters: 2 logins, \d+ refreshes, 1 rejected calls/);
    } finally {
      log.mockRestore();
    }
  });
});
