import { type DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { GatewayConfig } from '@app/config';
import { ChangeBus } from './change-bus.js';
import { DatabaseHealthService } from './database-health.service.js';
import { type EntityClass, type MigrationClass, openDatabase } from './gateway-data-source.js';

export interface DatabaseModuleOptions {
  database: GatewayConfig['database'];
  migrations: MigrationClass[];
}

/**
 * The gateway's one DataSource (real Postgres or embedded PGlite), migrated at boot unless disabled.
 * Feature modules register their entities with `TypeOrmModule.forFeature`; they are collected automatically.
 */
@Module({})
export class DatabaseModule {
  static forRoot({ database, migrations }: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            type: 'postgres',
            autoLoadEntities: true,
            synchronize: false,
            // A real server may still be starting (compose, k8s): retry a little. The embedded one cannot be.
            retryAttempts: database.url ? 3 : 0,
            retryDelay: 1000,
          }),
          dataSourceFactory: async (options) =>
            openDatabase(database, { entities: (options?.entities ?? []) as EntityClass[], migrations }),
        }),
      ],
      providers: [DatabaseHealthService, ChangeBus],
      exports: [DatabaseHealthService, ChangeBus],
    };
  }
}
