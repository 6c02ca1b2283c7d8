import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { GatewayConfig } from './config.types.js';

/** Injection token of the resolved GatewayConfig. */
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

/**
 * Provides the configuration loaded before Nest starts (main.ts loads it so that a bad config stops the
 * process with readable lines instead of a stack trace from inside the DI container).
 */
@Global()
@Module({})
export class GatewayConfigModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayConfigModule,
      providers: [{ provide: GATEWAY_CONFIG, useValue: config }],
      exports: [GATEWAY_CONFIG],
    };
  }
}
