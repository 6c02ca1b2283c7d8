import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Server ids become free text (LiteLLM's are free strings; ours stay UUIDs when the gateway picks them), kept
 * in place (a type change, not a new column: no row loses its id); LiteLLM's `spec_version` is stored.
 */
export class McpServerFreeIdAndSpecVersion1796079515297 implements MigrationInterface {
  name = 'McpServerFreeIdAndSpecVersion1796079515297';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mcp_server" ADD "spec_version" text`);
    await queryRunner.query(`ALTER TABLE "mcp_server" ALTER COLUMN "server_id" DROP DEFAULT`);
    await queryRunner.query(
      `ALTER TABLE "mcp_server" ALTER COLUMN "server_id" TYPE text USING "server_id"::text`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // Fails, saying which value, if a server has an id that is not a UUID: rename it first.
    await queryRunner.query(
      `ALTER TABLE "mcp_server" ALTER COLUMN "server_id" TYPE uuid USING "server_id"::uuid`,
    );
    await queryRunner.query(
      `ALTER TABLE "mcp_server" ALTER COLUMN "server_id" SET DEFAULT gen_random_uuid()`,
    );
    await queryRunner.query(`ALTER TABLE "mcp_server" DROP COLUMN "spec_version"`);
  }
}
