import type { CallOptions, LoginOptions, SessionState, TokenKeeper } from './keeper.js';

/**
 * A handle on one session of a {@link TokenKeeper}, bound to its key. Creating one does no
 * I/O; every method is the keeper's, with the key filled in.
 *
 * @example
 * const session = keeper.session(req.user.id);
 * const response = await session.fetch('/incidents');
 */
export class Session<Credentials = unknown> {
  readonly keeper: TokenKeeper<Credentials>;
  readonly key: string;

  constructor(keeper: TokenKeeper<Credentials>, key: string) {
    this.keeper = keeper;
    this.key = key;
  }

  /** Logs in (replacing any session under this key). */
  login(credentials: Credentials, options?: LoginOptions): Promise<SessionState> {
    return this.keeper.login(this.key, credentials, options);
  }

  /** The access token to use now; waits only when it has expired. */
  token(options?: CallOptions): Promise<string> {
    return this.keeper.token(this.key, options);
  }

  /** `fetch` with the token attached (protocol origin only), renewed and retried once on the expiry signal. */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    return this.keeper.fetch(this.key, input, init);
  }

  /** Binds the session to another account of the user (the upstream's masquerade); see {@link TokenKeeper.switchAccount}. */
  switchAccount(accountId: number, options?: CallOptions): Promise<SessionState> {
    return this.keeper.switchAccount(this.key, accountId, options);
  }

  /** Ends the session here and, where the protocol can, upstream. */
  logout(options?: CallOptions): Promise<void> {
    return this.keeper.logout(this.key, options);
  }

  /** Status and times of the session; never its tokens. */
  state(): Promise<SessionState> {
    return this.keeper.state(this.key);
  }
}
