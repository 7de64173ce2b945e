/**
 * Every code block in a README or guide is a real file, embedded between snippet markers
 * (scripts/snippets.mjs, docs/snippets/README.md), and every command names a real script.
 * The files themselves are type-checked (tsconfig.test.json, tsc -b) and run by the tests
 * next to them.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { documents, ROOT, readSnippet, render, snippetsOf, unmarkedBlocks } from '../scripts/snippets.mjs';

const docs = await documents();
const markdown = new Map(await Promise.all(docs.map(async (path) => [path, await readFile(join(ROOT, path), 'utf8')] as const)));
const snippets = docs.flatMap((document) => snippetsOf(markdown.get(document)!).map((snippet) => ({ document, ...snippet })));
const scripts = Object.keys(JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).scripts);

/** Where a snippet may live: folders that tsconfig.test.json or tsc -b type-check. */
const TYPE_CHECKED = [/^docs\/snippets\//, /^examples\/[^/]+\/src\//];
/** pnpm's own commands the docs use. */
const PNPM_COMMANDS = ['install', 'exec', 'test', 'add'];
/**
 * Names pnpm answers itself (its commands, and npm's it passes through), whatever the scripts
 * say: `pnpm docs` prints an npm URL and builds nothing. A script of such a name needs `run`.
 */
const PNPM_OWN = [
  ...['add', 'audit', 'bin', 'config', 'create', 'dedupe', 'deploy', 'dlx', 'env', 'exec', 'fetch', 'help', 'import', 'init'],
  ...['install', 'licenses', 'link', 'list', 'outdated', 'pack', 'patch', 'prune', 'publish', 'rebuild', 'remove', 'root', 'run'],
  ...['server', 'setup', 'start', 'store', 'test', 'unlink', 'update', 'why'],
  ...['bugs', 'deprecate', 'dist-tag', 'docs', 'edit', 'info', 'login', 'logout', 'owner', 'ping', 'pkg', 'prefix', 'profile'],
  ...['repo', 'search', 'show', 'star', 'stars', 'team', 'token', 'unpublish', 'version', 'view', 'whoami'],
];

async function testSources(folder: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(join(ROOT, folder), { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && /\.test\.ts$/.test(entry.name) && !path.includes('node_modules')) found.push(await readFile(path, 'utf8'));
  }
  return found;
}

describe('the snippet mechanism', () => {
  it('rewrites a block from its file, keeping the markers and the text around them', async () => {
    const before = 'Intro.\n\n<!-- snippet: docs/snippets/x.ts -->\n```ts\nold();\n```\n<!-- /snippet -->\n\nOutro.\n';

    expect(await render(before, async () => 'fresh();\n')).toBe(
      'Intro.\n\n<!-- snippet: docs/snippets/x.ts -->\n```ts\nfresh();\n```\n<!-- /snippet -->\n\nOutro.\n',
    );
  });

  it('fences a file that holds a fence itself with a longer fence, and names JSON blocks json', async () => {
    const before = '<!-- snippet: docs/snippets/x.json -->\n```ts\n{}\n```\n<!-- /snippet -->';

    expect(await render(before, async () => '{ "a": "```" }')).toBe(
      '<!-- snippet: docs/snippets/x.json -->\n```json\n{ "a": "```" }\n```\n<!-- /snippet -->',
    );
    expect(
      await render('<!-- snippet: docs/snippets/a.sh -->\n```sh\nx\n```\n<!-- /snippet -->', async () => 'cat <<EOF\n```\nEOF\n'),
    ).toBe('<!-- snippet: docs/snippets/a.sh -->\n````sh\ncat <<EOF\n```\nEOF\n````\n<!-- /snippet -->');
  });

  it('finds the fenced blocks outside markers, with their line numbers', () => {
    const text = 'a\n\n```ts\nloose();\n```\n\n<!-- snippet: docs/snippets/x.ts -->\n```ts\nx();\n```\n<!-- /snippet -->\n';

    expect(unmarkedBlocks(text)).toEqual([{ language: 'ts', content: 'loose();\n', line: 3 }]);
  });
});

describe('the READMEs and guides', () => {
  it('are found: the root README, the packages, the examples and docs/', () => {
    expect(docs).toEqual(
      expect.arrayContaining(['README.md', 'packages/koa/README.md', 'docs/guides/refresh-token.md', 'bench/README.md']),
    );
    expect(snippets.length).toBeGreaterThan(30);
  });

  it.each(docs)('%s: every TypeScript, JavaScript and JSON block is a snippet', (document) => {
    const loose = unmarkedBlocks(markdown.get(document)!).filter((block) =>
      /^(ts|tsx|js|json|typescript|javascript)$/.test(block.language),
    );

    expect(loose.map((block) => `${document}:${block.line}`)).toEqual([]);
  });

  it.each(docs)('%s: every snippet block is its file, character for character (`pnpm run snippets` fixes it)', async (document) => {
    const text = markdown.get(document)!;

    expect(await render(text, (path) => readSnippet(path))).toBe(text);
  });

  it.each(snippets.map((snippet) => [snippet.path, snippet.document]))('%s (in %s) is type-checked and run by a test', async (path) => {
    expect(
      TYPE_CHECKED.some((folder) => folder.test(path)),
      `${path} is under a type-checked folder`,
    ).toBe(true);
    if (/\.test\.ts$/.test(path)) return; // vitest runs it itself (vitest.config.ts includes docs/snippets)
    const file = path.slice(path.lastIndexOf('/') + 1);
    const names = [file, file.replace(/\.ts$/, '.js')];
    const tests = [
      ...(await testSources('test')),
      ...(await testSources('docs/snippets')),
      ...(await testSources('packages')),
      ...(await testSources('examples')),
    ];
    expect(
      tests.some((source) => names.some((name) => source.includes(name))),
      `a test imports or reads ${file}`,
    ).toBe(true);
  });

  it.each(docs)('%s: every `node <folder>/dist/<file>.js` it tells you to run is built from a source file', async (document) => {
    const runs = [...markdown.get(document)!.matchAll(/node (?:--[\w-]+ )*((?:examples|bench|packages)\/[\w/-]*?)dist\/([\w/-]+)\.js/g)];

    for (const [command, folder, file] of runs) {
      await expect(
        readFile(join(ROOT, `${folder}src/${file}.ts`), 'utf8').then(() => true),
        command,
      ).resolves.toBe(true);
    }
  });

  it.each(docs)("%s: every pnpm command is one of pnpm's, or runs a real script", (document) => {
    const commands = [...markdown.get(document)!.matchAll(/npx --yes pnpm@[\d.]+ (?:(run) )?([\w:-]+)/g)];

    for (const [command, run, name] of commands) {
      if (run || !PNPM_COMMANDS.includes(name!)) expect(scripts, `${command}: a script of the root package.json`).toContain(name);
      if (!run)
        expect(PNPM_OWN.includes(name!) && !PNPM_COMMANDS.includes(name!), `${command}: pnpm's own command; say \`run ${name}\``).toBe(
          false,
        );
    }
  });
});
