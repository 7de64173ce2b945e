/**
 * Every link in every Markdown file of the repository leads somewhere: a relative link to a file
 * that exists (and to a heading that exists, when it names one), and a cited `path/to/doc.md` to a
 * document that is in the repository. A package's README is rendered by npm, where a relative link
 * leads nowhere, so there every link into the repository is absolute
 * (`https://github.com/tokenkeeper/tokenkeeper/blob/main/…`) and is checked against the files here.
 * (The auth-core README once sent readers to `shared/PROTOCOLS.md`, which is not in the repository.)
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const REPOSITORY = 'https://github.com/tokenkeeper/tokenkeeper';
const SKIPPED = new Set(['node_modules', 'dist', '.git', 'coverage']);

function markdownFiles(folder: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory() && !SKIPPED.has(entry.name) && path !== join('docs', 'api')) found.push(...markdownFiles(path));
    else if (entry.isFile() && entry.name.endsWith('.md')) found.push(path);
  }
  return found;
}

/** The text outside fenced code blocks: a code block's brackets are code, not links. */
function prose(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '');
}

/** Link targets: inline `[text](target)`, reference definitions `[name]: target`, and HTML `href`/`src`. */
function links(text: string): string[] {
  const withoutCode = prose(text).replace(/`[^`\n]*`/g, '');
  const targets: string[] = [];
  for (const match of withoutCode.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(match[1]!);
  for (const match of withoutCode.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) targets.push(match[1]!);
  for (const match of withoutCode.matchAll(/\b(?:href|src)="([^"]+)"/g)) targets.push(match[1]!);
  return targets;
}

/** Markdown documents cited by path in inline code, such as `docs/security.md`. */
function citedDocuments(text: string): string[] {
  return [...prose(text).matchAll(/`([\w.-]+(?:\/[\w.-]+)+\.md)`/g)].map((match) => match[1]!);
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const match of prose(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = match[1]!
      .replace(/`/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

/** What is wrong with one link in `file` (a path from the root), or undefined when it leads somewhere. */
function problem(file: string, target: string, renderedByNpm: boolean): string | undefined {
  const inRepository = /^https:\/\/github\.com\/tokenkeeper\/tokenkeeper\/(?:blob|tree)\/main\/(.+)$/.exec(target);
  let path: string;
  if (inRepository) {
    path = decodeURIComponent(inRepository[1]!);
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    return undefined; // another site, or mailto:
  } else if (target.startsWith('#')) {
    path = `${file}${target}`;
  } else {
    if (renderedByNpm) return 'is relative, but npm renders this README: link to the repository on GitHub instead';
    path = relative(root, resolve(root, dirname(file), decodeURIComponent(target)));
  }
  const [filePath, fragment] = path.split('#') as [string, string | undefined];
  const absolute = join(root, filePath);
  if (!existsSync(absolute)) return `points at ${filePath}, which does not exist`;
  if (fragment !== undefined && statSync(absolute).isFile() && filePath.endsWith('.md')) {
    if (!anchors(readFileSync(absolute, 'utf8')).has(fragment)) return `names #${fragment}, which is no heading in ${filePath}`;
  }
  if (target.startsWith(`${REPOSITORY}/blob/`) && statSync(absolute).isDirectory()) return 'links a folder with /blob/: use /tree/';
  return undefined;
}

const files = markdownFiles('.').map((file) => relative('.', file));

describe('links in the documentation', () => {
  it('finds the READMEs and guides', () => {
    expect(files).toContain('README.md');
    expect(files).toContain(join('packages', 'auth-core', 'README.md'));
    expect(files).toContain(join('docs', 'security.md'));
  });

  it.each(files)('every link in %s leads to a file (and heading) that exists', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const renderedByNpm = /^packages\/[^/]+\/README\.md$/.test(file);
    const problems = links(text)
      .map((target) => [target, problem(file, target, renderedByNpm)] as const)
      .filter(([, why]) => why !== undefined)
      .map(([target, why]) => `${target} ${why}`);
    expect(problems).toEqual([]);
  });

  it.each(files)('every Markdown document %s cites by path is in the repository', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const missing = citedDocuments(text).filter((cited) => !existsSync(join(root, cited)) && !existsSync(join(root, dirname(file), cited)));
    expect(missing).toEqual([]);
  });
});

describe('the link checker', () => {
  it('reports a relative link to a missing file, a missing heading, and a relative link npm cannot follow', () => {
    expect(problem('README.md', 'docs/nowhere.md', false)).toBe('points at docs/nowhere.md, which does not exist');
    expect(problem('README.md', 'packages/fastify/README.md#no-such-heading', false)).toBe(
      'names #no-such-heading, which is no heading in packages/fastify/README.md',
    );
    expect(problem('packages/koa/README.md', '../auth-core/README.md', true)).toMatch(/npm renders this README/);
    expect(problem('packages/koa/README.md', `${REPOSITORY}/blob/main/shared/PROTOCOLS.md`, true)).toBe(
      'points at shared/PROTOCOLS.md, which does not exist',
    );
    expect(problem('README.md', 'packages/fastify/README.md#example', false)).toBeUndefined();
  });

  it('ignores brackets inside code and finds links in prose, reference definitions and HTML', () => {
    const text = '```ts\nconst a = b[0](1);\n```\n[x](a.md) and `c[1](2)`\n\n[ref]: b.md\n<img src="c.png">';
    expect(links(text)).toEqual(['a.md', 'b.md', 'c.png']);
    expect(citedDocuments('see `shared/PROTOCOLS.md` and `README.md`')).toEqual(['shared/PROTOCOLS.md']);
  });

  it("numbers a repeated heading's anchor the way GitHub does", () => {
    expect([...anchors('# One `two`, three!\n## Example\n## Example')]).toEqual(['one-two-three', 'example', 'example-1']);
  });
});
