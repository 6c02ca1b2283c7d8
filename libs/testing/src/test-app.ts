import type { DynamicModule, Type } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type GatewayConfig, loadConfig } from '@app/config';
import { configureApp } from '@app/http';
import { PinoLoggerService } from '@app/observability';
import { LogCapture } from './log-capture.js';

export interface TestAppOptions {
  /** The composition root for a config: `GatewayModule.forRoot` (libs may not import the app, tests may). */
  rootModule: (config: GatewayConfig) => DynamicModule;
  database: GatewayConfig['database'];
  /** Extra environment for loadConfig (MASTER_KEY, SALT_KEY...). */
  env?: Record<string, string>;
  /** A config.yaml's content. */
  configYaml?: string;
  /** Test-only modules mounted beside the gateway (e.g. a controller exercising the global pipe). */
  extraModules?: Type[];
}

export interface TestApp {
  app: NestExpressApplication;
  config: GatewayConfig;
  /** Base URL of the app, listening on a random loopback port. */
  url: string;
  logs: LogCapture;
  close(): Promise<void>;
}

/** Loads a config the way main.ts does, from an environment and optional YAML, for tests. */
export function testConfig(options: Pick<TestAppOptions, 'database' | 'env' | 'configYaml'>): GatewayConfig {
  const config = loadConfig({
    argv: [],
    env: { LOG_LEVEL: 'debug', ...options.env },
    fileContent:
      options.configYaml === undefined ? undefined : { path: 'config.yaml', text: options.configYaml },
  });
  return { ...config, database: options.database, server: { ...config.server, port: 0, host: '127.0.0.1' } };
}

/**
 * Starts the whole gateway as main.ts does (same module, same HTTP setup) on a random loopback port, with its
 * logs captured. Always `close()` it in afterAll.
 */
export async function createTestApp(options: TestAppOptions): Promise<TestApp> {
  const config = testConfig(options);
  const logs = new LogCapture();
  const logger = new PinoLoggerService({ level: config.log.level, format: 'json', destination: logs });
  @Module({ imports: [options.rootModule(config), ...(options.extraModules ?? [])] })
  class TestRootModule {}
  const app = await NestFactory.create<NestExpressApplication>(TestRootModule, {
    logger,
    bodyParser: false,
    abortOnError: false,
  });
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    config,
    url: `http://127.0.0.1:${address.port}`,
    logs,
    close: () => app.close(),
  };
}
