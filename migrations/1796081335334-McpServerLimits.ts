import type { MigrationInterface, QueryRunner } from 'typeorm';

export class McpServerLimits1796081335334 implements MigrationInterface {
  name = 'McpServerLimits1796081335334';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mcp_server" ADD "max_concurrent_requests" integer`);
    await queryRunner.query(`ALTER TABLE "mcp_server" ADD "allow_sampling" boolean`);
    await queryRunner.query(`ALTER TABLE "mcp_server" ADD "allow_elicitation" boolean`);
    await queryRunner.query(`ALTER TABLE "mcp_server" ADD "allowed_params" jsonb`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mcp_server" DROP COLUMN "allowed_params"`);
    await queryRunner.query(`ALTER TABLE "mcp_server" DROP COLUMN "allow_elicitation"`);
    await queryRunner.query(`ALTER TABLE "mcp_server" DROP COLUMN "allow_sampling"`);
    await queryRunner.query(`ALTER TABLE "mcp_server" DROP COLUMN "max_concurrent_requests"`);
  }
}
