import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ClientSessions1796093647654 implements MigrationInterface {
  name = 'ClientSessions1796093647654';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "mcp_client_session" ("session_id" text NOT NULL, "key_id" text, "transport" text NOT NULL, "path" text NOT NULL, "protocol_version" text NOT NULL, "client_info" jsonb NOT NULL, "client_capabilities" jsonb NOT NULL, "log_level" text, "subscriptions" jsonb NOT NULL DEFAULT '[]', "holder" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_activity_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_c597aef3f3dbf9d0a17ed1505f3" PRIMARY KEY ("session_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_9d84d6fdc2cd5a3cbb58f6f87a" ON "mcp_client_session"  ("last_activity_at") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_6013e035bb891f70372189463b" ON "mcp_client_session"  ("key_id") `,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_6013e035bb891f70372189463b"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_9d84d6fdc2cd5a3cbb58f6f87a"`);
    await queryRunner.query(`DROP TABLE "mcp_client_session"`);
  }
}
