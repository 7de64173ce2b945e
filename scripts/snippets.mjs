// Code blocks in the Markdown docs are real files, embedded between markers:
//
//   <!-- snippet: docs/snippets/express/quick.ts -->
//   ```ts
//   …the file, character for character…
//   ```
//   <!-- /snippet -->
//
// `node scripts/snippets.mjs` (pnpm run snippets) rewrites every block from its file;
// `--check` only reports blocks that differ and exits 1. test/snippets.test.ts runs the check.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

const SNIPPET = /<!-- snippet: (\S+) -->\n(\n*)(`{3,})(\w*)\n([\s\S]*?)\3\n(\n*)<!-- \/snippet -->/g;
const FENCE = /^(`{3,})(\w*)[^\n]*\n([\s\S]*?)^\1[ \t]*$/gm;
const LANGUAGES = { ts: 'ts', mts: 'ts', tsx: 'tsx', js: 'js', mjs: 'js', json: 'json', sh: 'sh' };

/** The Markdown files whose code blocks must be snippets: READMEs and guides, not generated docs. */
export async function documents(root = ROOT) {
  const found = ['README.md', 'bench/README.md'];
  for (const folder of ['packages', 'examples']) {
    for (const entry of await readdir(join(root, folder), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const readme = join(folder, entry.name, 'README.md');
      if (await exists(join(root, readme))) found.push(readme);
    }
  }
  const walk = async (folder) => {
    for (const entry of await readdir(join(root, folder), { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory() && path !== join('docs', 'api') && entry.name !== 'node_modules') await walk(path);
      else if (entry.isFile() && entry.name.endsWith('.md')) found.push(path);
    }
  };
  await walk('docs');
  return found.map((path) => path.split('\\').join('/'));
}

async function exists(path) {
  try {
    await readFile(path);
    return true;
  } catch {
    return false;
  }
}

/** The language a file's block is fenced with. */
export function languageOf(path) {
  const language = LANGUAGES[path.slice(path.lastIndexOf('.') + 1)];
  if (!language) throw new TypeError(`snippet ${path}: no code-block language for this file extension`);
  return language;
}

/** Every snippet block of a Markdown text: the file it names, and the block as it is now. */
export function snippetsOf(markdown) {
  return [...markdown.matchAll(SNIPPET)].map((match) => ({ path: match[1], language: match[4], content: match[5] }));
}

/** Fenced code blocks that are not inside snippet markers, with their line numbers. */
export function unmarkedBlocks(markdown) {
  const outside = markdown.replace(SNIPPET, (block) => block.replace(/[^\n]/g, ' '));
  return [...outside.matchAll(FENCE)].map((match) => ({
    language: match[2],
    content: match[3],
    line: outside.slice(0, match.index).split('\n').length,
  }));
}

/** The Markdown with every snippet block replaced by its file (read with `read(path)`). */
export async function render(markdown, read) {
  const files = new Map();
  for (const { path } of snippetsOf(markdown)) if (!files.has(path)) files.set(path, await read(path));
  return markdown.replace(SNIPPET, (_block, path, before, _fence, _language, _content, after) => {
    const content = files.get(path);
    const fence = '`'.repeat(Math.max(3, ...[...content.matchAll(/^`{3,}/gm)].map((match) => match[0].length + 1)));
    const body = content.endsWith('\n') ? content : `${content}\n`;
    return `<!-- snippet: ${path} -->\n${before}${fence}${languageOf(path)}\n${body}${fence}\n${after}<!-- /snippet -->`;
  });
}

/** Reads a snippet's file, relative to the repository root. */
export function readSnippet(path, root = ROOT) {
  return readFile(join(root, path), 'utf8');
}

/** For each document: whether its blocks match their files; with `write`, rewrites those that do not. */
export async function sync({ write = false, root = ROOT } = {}) {
  const stale = [];
  for (const document of await documents(root)) {
    const markdown = await readFile(join(root, document), 'utf8');
    const rendered = await render(markdown, (path) => readSnippet(path, root));
    if (rendered === markdown) continue;
    stale.push(document);
    if (write) await writeFile(join(root, document), rendered);
  }
  return stale;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  const stale = await sync({ write: !check });
  for (const document of stale)
    console.log(`${check ? 'differs from its snippets' : 'rewritten'}: ${relative(process.cwd(), join(ROOT, document))}`);
  if (check && stale.length > 0) {
    console.log('run `npx --yes pnpm@10.34.9 run snippets` to copy the files into the Markdown');
    process.exitCode = 1;
  }
}
