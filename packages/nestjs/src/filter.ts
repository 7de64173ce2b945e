import type { ServerResponse } from 'node:http';
import { type ArgumentsHost, Catch, type ExceptionFilter, Inject, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AuthError, authErrorResponse } from '@tokenkeeper/auth-core';

/**
 * Answers an `AuthError` with its status and `{ error: code, message }` (nothing secret). Apply
 * it with `{ provide: APP_FILTER, useClass: AuthErrorFilter }`, `@UseFilters(AuthErrorFilter)`
 * or `app.useGlobalFilters(new AuthErrorFilter(app.get(HttpAdapterHost)))`.
 */
@Catch(AuthError)
export class AuthErrorFilter implements ExceptionFilter<AuthError> {
  readonly #adapterHost: HttpAdapterHost | undefined;

  constructor(@Optional() @Inject(HttpAdapterHost) adapterHost?: HttpAdapterHost) {
    this.#adapterHost = adapterHost;
  }

  catch(error: AuthError, host: ArgumentsHost): void {
    const { status, body } = authErrorResponse(error)!;
    const response = host.switchToHttp().getResponse<ServerResponse & { raw?: ServerResponse }>();
    const adapter = this.#adapterHost?.httpAdapter;
    if (adapter) return void adapter.reply(response, body, status);
    // Built without Nest's injector: write to Node's response.
    const raw = response.raw ?? response;
    raw.statusCode = status;
    raw.setHeader('content-type', 'application/json; charset=utf-8');
    raw.end(JSON.stringify(body));
  }
}
