import type { TokenKeeper } from '@tokenkeeper/auth-core';
import { installTokenKeeper } from '@tokenkeeper/axios';
import axios from 'axios';

export function callDataClient(keeper: TokenKeeper) {
  const api = axios.create({ baseURL: keeper.protocol.baseUrl });
  installTokenKeeper(api, { keeper });

  // per request: which session it is made as
  return (userId: string) => api.get('/reports/call-data', { tokenKeeper: { sessionKey: userId } });
}
