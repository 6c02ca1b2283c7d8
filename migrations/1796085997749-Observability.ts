import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Observability1796085997749 implements MigrationInterface {
  name = 'Observability1796085997749';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "admin_event" ("id" BIGSERIAL NOT NULL, "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL, "request_id" text, "actor" text NOT NULL, "object_type" text NOT NULL, "object_id" text NOT NULL, "action" text NOT NULL, "changed_fields" text array NOT NULL DEFAULT '{}', CONSTRAINT "PK_a398007162da57a4a17c21fe4ed" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_701abb721db7b2863c68ad97a1" ON "admin_event"  ("occurred_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "tool_call_log" ("id" BIGSERIAL NOT NULL, "called_at" TIMESTAMP WITH TIME ZONE NOT NULL, "request_id" text, "trace_id" text, "via" text NOT NULL, "key_alias" text, "key_hash" text, "team_id" text, "server_id" text, "server_alias" text, "tool" text NOT NULL, "outcome" text NOT NULL, "duration_ms" double precision NOT NULL, "error" text, "cost" double precision NOT NULL DEFAULT '0', CONSTRAINT "PK_66eb8945d23db7722d70b18a253" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "tool_call_log_called_at_brin" ON "tool_call_log" USING brin ("called_at")`,
    );
    await queryRunner.query(`ALTER TABLE "team" ADD "budget_reset_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "virtual_key" ADD "budget_reset_at" TIMESTAMP WITH TIME ZONE`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "virtual_key" DROP COLUMN "budget_reset_at"`);
    await queryRunner.query(`ALTER TABLE "team" DROP COLUMN "budget_reset_at"`);
    await queryRunner.query(`DROP INDEX "public"."tool_call_log_called_at_brin"`);
    await queryRunner.query(`DROP TABLE "tool_call_log"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_701abb721db7b2863c68ad97a1"`);
    await queryRunner.query(`DROP TABLE "admin_event"`);
  }
}
