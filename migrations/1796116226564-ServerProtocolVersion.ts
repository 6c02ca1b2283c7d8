import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ServerProtocolVersion1796116226564 implements MigrationInterface {
  name = 'ServerProtocolVersion1796116226564';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mcp_server" ADD "protocol_version" text`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mcp_server" DROP COLUMN "protocol_version"`);
  }
}
