import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InputRelay1796108095591 implements MigrationInterface {
  name = 'InputRelay1796108095591';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "mcp_input_relay" ("reply_id" text NOT NULL, "payload" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_da277ce2b3a165dcab36cd211ed" PRIMARY KEY ("reply_id"))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "mcp_input_relay"`);
  }
}
