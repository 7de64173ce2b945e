import { sessionRenew, TokenKeeper } from '@tokenkeeper/auth-core';
import { installTokenKeeper } from '@tokenkeeper/axios';
import axios from 'axios';

export async function nightlyExport(baseUrl: string, account: { email: string; password: string; selectedOrg: number }) {
  const keeper = new TokenKeeper({ protocol: sessionRenew({ baseUrl }) });
  const service = keeper.session('nightly-export');
  await service.login(account, { service: true }); // kept alive until keeper.close()

  const api = axios.create({ baseURL: baseUrl });
  const uninstall = installTokenKeeper(api, { session: service });
  try {
    const { data } = await api.get('/user/users/me');
    return data;
  } finally {
    uninstall();
    await keeper.close();
  }
}
