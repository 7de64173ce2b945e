import type { TokenKeeper } from '@tokenkeeper/auth-core';
import { instrumentTokenKeeper } from '@tokenkeeper/auth-core/otel';

export function instrument(keeper: TokenKeeper): () => void {
  return instrumentTokenKeeper(keeper); // or instrumentTokenKeeper(keeper, { meter }) to choose the Meter; call the result to stop
}
