/**
 * What npm users install: each package depends on its tokenkeeper siblings with a caret range
 * (an exact version made a second copy of auth-core, and `keeper must be a TokenKeeper`, on every
 * patch release of it), and each ships the MIT licence its manifest names.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const names = readdirSync(`${root}packages`);

describe.each(names)('the @tokenkeeper/%s manifest', (name) => {
  const manifest = JSON.parse(readFileSync(`${root}packages/${name}/package.json`, 'utf8')) as {
    license?: string;
    dependencies?: Record<string, string>;
  };

  it('depends on other tokenkeeper packages with a caret range (workspace:^), never an exact version', () => {
    for (const [dependency, range] of Object.entries(manifest.dependencies ?? {})) {
      if (dependency.startsWith('@tokenkeeper/')) expect(range, dependency).toBe('workspace:^');
    }
  });

  it('is MIT and ships a LICENSE file', () => {
    expect(manifest.license).toBe('MIT');
    expect(existsSync(`${root}packages/${name}/LICENSE`)).toBe(true);
    expect(readFileSync(`${root}packages/${name}/LICENSE`, 'utf8')).toMatch(/^MIT License/);
  });
});
