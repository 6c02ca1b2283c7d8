import 'reflect-metadata';
import path from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ConfigError, type GatewayConfig, loadConfig } from '@app/config';
import { parseModelList } from '@app/llm-proxy';
import { configureApp } from '@app/http';
import { DrainState, PinoLoggerService } from '@app/observability';
import { GatewayModule } from './gateway.module.js';

/** How long closing sessions, upstreams and the database may take after the drain, before exiting anyway. */
const CLOSE_GRACE_MS = 10_000;

function readConfig(): GatewayConfig {
  try {
    const config = loadConfig({ argv: process.argv.slice(2) });
    // model_list is the OpenAI-compatible endpoints' to judge; checked here so that it fails like the rest.
    const { problems } = parseModelList(config.modelList);
    if (problems.length)
      throw new ConfigError(problems.map((p) => `${path.basename(config.configPath ?? 'config')}: ${p}`));
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    configFailure(error);
  }
}

/**
 * One line per problem, no stack trace (the operator's to fix, not ours), then one last line saying nothing
 * started; exit code 2. `logger` is flushed first, so that nothing it buffered comes after.
 */
function configFailure(error: ConfigError, logger?: PinoLoggerService): never {
  logger?.flush();
  for (const problem of error.problems) console.error(`config error: ${problem}`);
  const count = error.problems.length;
  console.error(
    `startup failed: ${count} configuration problem${count === 1 ? '' : 's'} (above); nothing was started`,
  );
  process.exit(2);
}

async function bootstrap(): Promise<void> {
  const config = readConfig();
  const logger = new PinoLoggerService(config.log);
  for (const warning of config.warnings) logger.warn(warning, 'Config');
  process.on('unhandledRejection', (reason) =>
    logger.error({ msg: 'unhandled promise rejection', err: reason }),
  );

  let app: NestExpressApplication;
  try {
    app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(config), {
      logger,
      bodyParser: false,
      abortOnError: false,
    });
    configureApp(app);
    // Module init (database, migrations, registry) runs here, so that its errors are reported as such.
    await app.init();
  } catch (error) {
    // Problems found by a module at startup (mcp_servers entries): same one-line-per-problem output.
    if (error instanceof ConfigError) configFailure(error, logger);
    logger.flush();
    console.error(`startup failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    process.exit(1);
  }

  // Graceful drain (issue 13): readiness turns 503 and no new session opens at once; calls in flight finish
  // (up to shutdown_grace_seconds) on the sessions they belong to; then sessions, upstreams and the database
  // close. The listener stays open meanwhile, so the probe is readable and those sessions are still served.
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const drain = app.get(DrainState);
    const graceMs = config.server.shutdownGraceMs;
    drain.begin();
    logger.log(
      {
        msg: `${signal} received: draining (readiness 503, no new sessions); ${drain.inflightCalls} calls in flight may finish within ${graceMs / 1000} s`,
      },
      'Bootstrap',
    );
    const force = setTimeout(() => {
      logger.warn(`shutdown took longer than ${graceMs + CLOSE_GRACE_MS} ms: exiting now`, 'Bootstrap');
      process.exit(1);
    }, graceMs + CLOSE_GRACE_MS);
    force.unref();
    drain
      .idle(graceMs)
      .then((idle) => {
        if (!idle)
          logger.warn(
            { msg: `${drain.inflightCalls} calls still in flight after ${graceMs / 1000} s: closing anyway` },
            'Bootstrap',
          );
        return app.close();
      })
      .then(
        () => {
          logger.log('stopped', 'Bootstrap');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ msg: 'error during shutdown', err: error }, 'Bootstrap');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);

  try {
    await app.listen(config.server.port, config.server.host);
  } catch (error) {
    await app.close();
    logger.flush();
    console.error(
      `startup failed: cannot listen on ${config.server.host}:${config.server.port}: ${String(error)}`,
    );
    process.exit(1);
  }
  const { port } = app.getHttpServer().address() as { port: number };
  const shownHost = config.server.host === '0.0.0.0' ? 'localhost' : config.server.host;
  logger.log({ msg: `MCP gateway listening on http://${shownHost}:${port}`, port }, 'Bootstrap');
}

void bootstrap();
