import { expect, it, vi } from 'vitest';

it('the "connecting a keeper" snippet logs ada in to the fake upstream and reads her profile', async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await import('./connect.js');

    expect(log).toHaveBeenCalledWith(200, { id: 1, email: 'ada@example.test', currentOrg: { id: 7 } });
  } finally {
    log.mockRestore();
  }
});
