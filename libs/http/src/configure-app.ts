import type { NestExpressApplication } from '@nestjs/platform-express';
import { AllExceptionsFilter } from './all-exceptions.filter.js';
import { answerClientErrors } from './client-error.js';
import { InputGuardInterceptor } from './input-guard.js';
import { requestIdMiddleware } from './request-id.middleware.js';
import { createValidationPipe } from './validation.js';

/** Largest JSON body the API accepts (tool arguments can be big, but not unbounded). */
export const JSON_BODY_LIMIT = '4mb';
/** The same limit in bytes. */
export const JSON_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

/**
 * The HTTP setup shared by main.ts and the test app, so tests exercise exactly what runs in production.
 * The app must be created with `bodyParser: false`: the request id has to exist before the body is parsed
 * so that a malformed body is answered with it.
 */
export function configureApp(app: NestExpressApplication): NestExpressApplication {
  app.use(requestIdMiddleware);
  app.useBodyParser('json', { limit: JSON_BODY_LIMIT });
  app.useBodyParser('urlencoded', { limit: JSON_BODY_LIMIT, extended: true });
  app.useGlobalFilters(new AllExceptionsFilter());
  app.useGlobalInterceptors(new InputGuardInterceptor());
  app.useGlobalPipes(createValidationPipe());
  answerClientErrors(app.getHttpServer());
  app.disable('x-powered-by');
  app.set('etag', false);
  return app;
}
