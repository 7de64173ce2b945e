import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { TokenKeeper } from '@tokenkeeper/auth-core';
import { TOKEN_KEEPER } from '@tokenkeeper/nestjs';
import { startFakeUpstream } from '@tokenkeeper/testing';
import { expect, it } from 'vitest';
import { SECRET } from '../support.js';
import { AppModule } from './async.js';

it('the forRootAsync snippet builds the keeper from injected configuration', async () => {
  const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
  Object.assign(process.env, { UPSTREAM_URL: upstream.url, COOKIE_SECRET: SECRET });
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  try {
    const keeper = app.get<TokenKeeper>(TOKEN_KEEPER);
    await keeper.session('ada').login({ username: 'ada', password: 'ada-password-1' });

    expect(await (await keeper.session('ada').fetch('/reports/call-data')).json()).toMatchObject({ userId: 1 });
  } finally {
    await app.close(); // closes the keeper the module built
    await upstream.close();
  }
});

it('fails at bootstrap when the configuration lacks a value, naming it', async () => {
  delete process.env.COOKIE_SECRET;

  await expect(NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false })).rejects.toThrow(
    'COOKIE_SECRET is not set',
  );
});
