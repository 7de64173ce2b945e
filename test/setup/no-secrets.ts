/**
 * Suite-wide secrets check (a vitest setup file, so it runs around every test file).
 *
 * It learns every secret that exists: the passwords of the fake upstream's users, every
 * password sent and every token sent or received through `fetch` (the keeper's upstream calls
 * go through it). It captures every log line (console), every keeper event and every AuthError
 * as it is created (the `tokenkeeper:*` diagnostics channels), as text, JSON and `inspect`.
 * After each file it fails if any secret appears in any of them.
 */
import { subscribe } from 'node:diagnostics_channel';
import { format, inspect } from 'node:util';
import { DIAGNOSTICS_CHANNELS } from '@tokenkeeper/auth-core';
import { defaultUsers } from '@tokenkeeper/testing';
import { afterAll } from 'vitest';

const TOKEN_WORD = /[A-Za-z0-9\-._~+/]{8,}=*/g;
const TOKEN_FIELDS = ['token', 'refreshToken', 'access_token', 'refresh_token'];

const tokens = new Set<string>();
const passwords = new Set<string>(defaultUsers().map((user) => user.password));
const produced: string[] = [];
const harvesting: Promise<void>[] = [];

function note(label: string, value: unknown): void {
  try {
    produced.push(`${label}: ${value instanceof Error ? value.message : ''}\n${safeJson(value)}\n${inspect(value, { depth: 6 })}`);
  } catch {
    // something that cannot be inspected holds nothing we printed
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}

function harvestAuthorization(value: string | null | undefined): void {
  if (!value) return;
  const [scheme, credential] = value.split(' ');
  if (!credential) return;
  if (/^basic$/i.test(scheme!)) {
    const decoded = Buffer.from(credential, 'base64').toString('utf8');
    const password = decoded.slice(decoded.indexOf(':') + 1);
    if (password.length >= 4) passwords.add(password);
  } else if (credential.length >= 8) {
    tokens.add(credential);
  }
}

function harvestBody(body: unknown): void {
  if (typeof body !== 'string') return;
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    if (typeof parsed.password === 'string' && parsed.password.length >= 4) passwords.add(parsed.password);
    for (const field of ['refresh_token', 'refreshToken']) if (typeof parsed[field] === 'string') tokens.add(parsed[field] as string);
  } catch {
    const password = new URLSearchParams(body).get('password');
    if (password && password.length >= 4) passwords.add(password);
  }
}

async function harvestAnswer(response: Response): Promise<void> {
  try {
    const text = await response.text();
    if (text.length > 64 * 1024) return;
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      for (const field of TOKEN_FIELDS) {
        if (typeof parsed[field] === 'string' && (parsed[field] as string).length >= 8) tokens.add(parsed[field] as string);
      }
    } catch {
      if (/^[A-Za-z0-9\-._~+/]{16,}=*$/.test(text.trim())) tokens.add(text.trim());
    }
  } catch {
    // a broken or cancelled answer carried nothing usable
  }
}

const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  harvestAuthorization(headers.get('authorization'));
  harvestBody(init?.body);
  const response = await realFetch(input, init);
  harvesting.push(harvestAnswer(response.clone()));
  return response;
};

subscribe(DIAGNOSTICS_CHANNELS.error, (error) => note('AuthError', error));
subscribe(DIAGNOSTICS_CHANNELS.event, (message) => note('event', message));
for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[method].bind(console);
  console[method] = (...args: unknown[]) => {
    produced.push(`console.${method}: ${format(...args)}`);
    original(...args);
  };
}

afterAll(async () => {
  await Promise.race([Promise.allSettled(harvesting), new Promise((resolve) => setTimeout(resolve, 2_000))]);
  const leaks: string[] = [];
  for (const text of produced) {
    for (const word of text.match(TOKEN_WORD) ?? []) if (tokens.has(word)) leaks.push(`a token in ${text.slice(0, 160)}`);
    for (const password of passwords) if (text.includes(password)) leaks.push(`a password in ${text.slice(0, 160)}`);
  }
  produced.length = 0;
  harvesting.length = 0;
  if (leaks.length > 0) throw new Error(`secrets leaked into logs, events or errors:\n${leaks.slice(0, 5).join('\n')}`);
});
