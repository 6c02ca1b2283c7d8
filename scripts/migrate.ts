// Migration commands, run from the repository root on the built code (npm run migration:*):
//   run                 apply pending migrations to the configured database (DATABASE_URL or embedded)
//   generate <Name>     write migrations/<timestamp>-<Name>.ts with the SQL that brings a migrated database in
//                       line with the entities (on a fresh in-memory embedded database unless DATABASE_URL is
//                       set), and regenerate migrations/index.ts
//   check               exit 1 if the entities differ from what the migrations build (the CI drift check)
import 'reflect-metadata';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import { getMetadataArgsStorage } from 'typeorm';
import { ConfigError, type GatewayConfig, loadConfig } from '@app/config';
import { type EntityClass, openDatabase } from '@app/database';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';
import { ALL_MIGRATIONS } from '../migrations/index.js';

const root = process.cwd();
const migrationsDir = path.join(root, 'migrations');

interface SchemaDiff {
  up: string[];
  down: string[];
}

/**
 * Diffs the entities with a freshly migrated database. The entities are every `@Entity` class the gateway's
 * module graph imports (the import of GatewayModule registers them all), without starting the app: its
 * services would query tables that the pending change has not created yet.
 */
async function schemaDiff(config: GatewayConfig): Promise<SchemaDiff> {
  const database = { ...config.database, runMigrations: true };
  if (!database.url) database.embeddedDir = 'memory://';
  void GatewayModule; // imported for its side effect: every entity of every module is declared
  const entities = getMetadataArgsStorage()
    .tables.map((table) => table.target)
    .filter((target): target is EntityClass => typeof target === 'function');
  const dataSource = await openDatabase(database, { entities, migrations: ALL_MIGRATIONS });
  try {
    const sql = await dataSource.driver.createSchemaBuilder().log();
    return {
      up: sql.upQueries.map((q) => q.query),
      down: sql.downQueries.map((q) => q.query).reverse(),
    };
  } finally {
    await dataSource.destroy();
  }
}

function migrationSource(className: string, diff: SchemaDiff): string {
  const lines = (queries: string[]) =>
    queries
      .map((q) => `    await queryRunner.query(\`${q.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\`);`)
      .join('\n');
  return `import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ${className} implements MigrationInterface {
  name = '${className}';

  public async up(queryRunner: QueryRunner): Promise<void> {
${lines(diff.up)}
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
${lines(diff.down)}
  }
}
`;
}

// Spelled in two parts so that the build's alias rewriting (tsc-alias) leaves this string alone.
const DATABASE_LIB = ['@app', 'database'].join('/');

/** Rewrites migrations/index.ts from the migration files, ordered by their timestamp. */
function writeIndex(): void {
  const files = readdirSync(migrationsDir)
    .filter((f) => /^\d{13}-[A-Za-z0-9]+\.ts$/.test(f))
    .sort();
  const entries = files.map((f) => {
    const [stamp, name] = f.replace(/\.ts$/, '').split('-');
    return { file: f.replace(/\.ts$/, '.js'), className: `${name}${stamp}` };
  });
  const source = `// The migrations the gateway knows, in order. \`npm run migration:generate -- Name\` writes a new one and
// regenerates this list; a landed migration is never edited.
import type { MigrationClass } from '${DATABASE_LIB}';
${entries.map((e) => `import { ${e.className} } from './${e.file}';`).join('\n')}

export const ALL_MIGRATIONS: MigrationClass[] = [${entries.map((e) => e.className).join(', ')}];
`;
  writeFileSync(path.join(migrationsDir, 'index.ts'), source);
}

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  const name = command === 'generate' ? rest.shift() : undefined;
  const config = loadConfig({
    argv: rest,
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });
  const logger = new Logger('Migrations');
  switch (command) {
    case 'run': {
      const dataSource = await openDatabase(config.database, {
        entities: [],
        migrations: ALL_MIGRATIONS,
        runMigrations: true,
      });
      await dataSource.destroy();
      return 0;
    }
    case 'check': {
      const diff = await schemaDiff(config);
      if (diff.up.length === 0) {
        console.log('migrations match the entities: no drift');
        return 0;
      }
      console.error('the entities differ from what the migrations build; missing SQL:');
      for (const q of diff.up) console.error(`  ${q}`);
      console.error('write a migration: npm run migration:generate -- DescriptiveName');
      return 1;
    }
    case 'generate': {
      if (!name || !/^[A-Z][A-Za-z0-9]*$/.test(name)) {
        console.error('usage: npm run migration:generate -- PascalCaseName');
        return 2;
      }
      const diff = await schemaDiff(config);
      if (diff.up.length === 0) {
        console.log('no changes: the migrations already match the entities');
        return 0;
      }
      const stamp = Date.now();
      const file = path.join(migrationsDir, `${stamp}-${name}.ts`);
      writeFileSync(file, migrationSource(`${name}${stamp}`, diff));
      writeIndex();
      logger.log(`wrote ${path.relative(root, file)} (${diff.up.length} statements) and migrations/index.ts`);
      console.log(`wrote ${path.relative(root, file)}; review it, then run npx prettier --write migrations`);
      return 0;
    }
    default:
      console.error('usage: migrate.js run | check | generate <Name>');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) error.problems.forEach((p) => console.error(`config error: ${p}`));
    else console.error(`migration failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
