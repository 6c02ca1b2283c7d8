import type { MigrationInterface, QueryRunner } from 'typeorm';

export class McpServerOAuth21796085226241 implements MigrationInterface {
  name = 'McpServerOAuth21796085226241';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mcp_server" ADD "oauth2" jsonb`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mcp_server" DROP COLUMN "oauth2"`);
  }
}
