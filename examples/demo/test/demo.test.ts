import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/main.js';

describe('the README demo', () => {
  it('tells its story: who ada and grace are, renew vs refresh, and one refresh for a burst of requests', async () => {
    const printed: string[] = [];
    const facts = await runDemo((line) => printed.push(line));
    const story = printed.join('\n');

    // Who is who, and what the two kinds of keeping a session alive are.
    expect(story).toMatch(/Two of its users, ada and grace, each have an account at a\nvendor's API/);
    expect(story).toMatch(/can only RENEW one: extend it while\nit is still valid/);
    expect(story).toMatch(/When the access\ntoken has expired, tokenkeeper trades the refresh token for a new pair/);

    // Act 1: renewals in the background while the token is valid; an expired one cannot be renewed.
    expect(story).toMatch(
      /\+00:14:00 {2}ada {6}tokenkeeper: renewed the still-valid token in the background, before it expired → valid until \+00:29:00/,
    );
    expect(story).toMatch(/\+00:55:00 {2}grace {2}GET \/me → 401 \{"error":"SESSION_EXPIRED"/);
    expect(facts.renewals).toBeGreaterThanOrEqual(4);

    // Act 2: many requests on one expired token, exactly one refresh.
    expect(facts.burst).toEqual({ requests: 25, answeredOk: 25, refreshes: 1 });
    expect(story).toMatch(
      /\+03:00:00 {2}grace {2}opens her dashboard: 25 requests at once, all on her expired token\n.*grace {4}tokenkeeper: refreshed \(refresh token traded for new tokens\) while the requests on it waited/,
    );
    expect(story).toMatch(/25 of 25 requests → 200, after 1 refresh/);
    expect(story).toMatch(/ada {4}GET \/data → 401 \{"error":"NOT_LOGGED_IN"/);

    // Readable simulated times on every event line, and one login per user and vendor, plus grace's second.
    for (const line of printed.filter((line) => /^\+/.test(line))) expect(line).toMatch(/^\+\d\d:[0-5]\d:[0-5]\d {2}\S/);
    expect(facts.logins).toBe(5);
    expect(story).toMatch(/0 refresh tokens presented twice/);
  });

  it('names the protocols by what they do, never by a seed number', async () => {
    const source = await readFile(new URL('../src/main.ts', import.meta.url), 'utf8');
    const printed: string[] = [];
    await runDemo((line) => printed.push(line));

    expect(`${source}\n${printed.join('\n')}`).not.toMatch(/seed/i);
  });
});
