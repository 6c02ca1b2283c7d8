import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddMcpServerSessionMode1795615816250 implements MigrationInterface {
  name = 'AddMcpServerSessionMode1795615816250';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mcp_server" ADD "session_mode" text`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mcp_server" DROP COLUMN "session_mode"`);
  }
}
