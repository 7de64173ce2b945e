import { readFile } from 'node:fs/promises';

const root = new URL('../../', import.meta.url);

/**
 * The code block a guide shows for a snippet file: the TypeScript block between
 * `<!-- snippet: <path> -->` and `<!-- /snippet -->`, or undefined when the guide has none.
 */
export async function guideBlock(guide: string, snippet: string): Promise<string | undefined> {
  const markdown = await readFile(new URL(guide, root), 'utf8');
  const marker = snippet.replaceAll(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`<!-- snippet: ${marker} -->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\`\\s*<!-- /snippet -->`).exec(markdown)?.[1];
}

/** The snippet file itself, as the guide must show it. */
export function snippetFile(snippet: string): Promise<string> {
  return readFile(new URL(snippet, root), 'utf8');
}
