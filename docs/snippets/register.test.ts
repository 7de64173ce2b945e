/**
 * The Register snippets (typing/express-register.ts, typing/koa-register.ts) narrow credentials for a whole
 * program, so they get a program of their own: tsc -p docs/snippets/typing, with uses.ts
 * holding the calls they allow and the ones they forbid.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));

it('the Register snippets narrow login() and tokenKeeper() to the registered credentials', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [
    tsc,
    '-p',
    fileURLToPath(new URL('typing/tsconfig.json', import.meta.url)),
  ]).catch((error: { stdout: string }) => ({ stdout: error.stdout }));

  expect(stdout).toBe('');
}, 60_000);
