/**
 * Every pending changeset is one `changeset version` can read: front matter between two `---`
 * lines naming public packages and a bump. Biome's Markdown formatter once turned such front
 * matter into a heading (a `---` under a line of text is a setext heading), and nothing noticed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const folder = fileURLToPath(new URL('../.changeset/', import.meta.url));
const packages = readdirSync(fileURLToPath(new URL('../packages/', import.meta.url))).map((name) => `@tokenkeeper/${name}`);
const changesets = readdirSync(folder).filter((name) => name.endsWith('.md') && name !== 'README.md');

describe('pending changesets', () => {
  it('there are changesets to check', () => {
    expect(changesets.length).toBeGreaterThan(0);
  });

  it.each(changesets)('%s has front matter naming public packages and a bump, and a summary', (name) => {
    const text = readFileSync(`${folder}${name}`, 'utf8');
    const match = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text);
    expect(match, 'front matter between two --- lines').not.toBeNull();
    const entries = match![1]!.split('\n').filter((line) => line.trim() !== '');
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) {
      const parsed = /^["']([^"']+)["']: (major|minor|patch)$/.exec(entry.trim());
      expect(parsed, `"${entry}" is a package and a bump`).not.toBeNull();
      expect(packages).toContain(parsed![1]);
    }
    expect(match![2]!.trim().length).toBeGreaterThan(0);
  });
});
