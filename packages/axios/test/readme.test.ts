import { describe, expect, it } from 'vitest';
import { nightlyExport } from '../../../examples/axios-service/src/readme-service.js';
import { callDataClient } from '../../../examples/axios-service/src/readme-users.js';
import { protocolCase, setup } from '../../auth-core/test/harness.js';

// The README's blocks are examples/axios-service/src/readme-*.ts (test/snippets.test.ts keeps them equal).
describe('the README', () => {
  it('runs the service example: one login, then the upstream answers as that account', async () => {
    const { upstream } = await setup('sessionRenew');
    const account = protocolCase('sessionRenew').credentials('ada') as { email: string; password: string; selectedOrg: number };

    expect(await nightlyExport(upstream.url, account)).toMatchObject({ id: 1, email: account.email });
    expect(upstream.stats.logins).toBe(1);
  });

  it('runs the many-users example: each call is made as the user it names', async () => {
    const { keeper } = await setup('refreshToken');
    const teletracker = protocolCase('refreshToken');
    await keeper.session('ada').login(teletracker.credentials('ada'));
    await keeper.session('grace').login(teletracker.credentials('grace'));
    const callData = callDataClient(keeper);

    expect((await callData('ada')).data).toMatchObject({ userId: 1 });
    expect((await callData('grace')).data).toMatchObject({ userId: 2 });
    await expect(callData('nobody')).rejects.toMatchObject({ code: 'NOT_LOGGED_IN', message: 'no session: log in first' });
  });
});
