import type { MigrationInterface, QueryRunner } from 'typeorm';

export class RateLimits1796089431593 implements MigrationInterface {
  name = 'RateLimits1796089431593';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "team" ADD "mcp_rpm_limit" jsonb NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "virtual_key" ADD "mcp_rpm_limit" jsonb NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "mcp_server" ADD "rpm" integer`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mcp_server" DROP COLUMN "rpm"`);
    await queryRunner.query(`ALTER TABLE "virtual_key" DROP COLUMN "mcp_rpm_limit"`);
    await queryRunner.query(`ALTER TABLE "team" DROP COLUMN "mcp_rpm_limit"`);
  }
}
