export { PinoLoggerService } from './pino-logger.js';
export { HealthController, type ReadinessResponse } from './health.controller.js';
export { HealthModule } from './health.module.js';
export { DrainState } from './drain-state.js';
