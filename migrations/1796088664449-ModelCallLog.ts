import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ModelCallLog1796088664449 implements MigrationInterface {
  name = 'ModelCallLog1796088664449';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "model_call_log" ("id" BIGSERIAL NOT NULL, "called_at" TIMESTAMP WITH TIME ZONE NOT NULL, "request_id" text, "trace_id" text, "endpoint" text NOT NULL, "key_alias" text, "key_hash" text, "team_id" text, "model" text NOT NULL, "upstream_model" text, "outcome" text NOT NULL, "status" integer, "duration_ms" double precision NOT NULL, "prompt_tokens" integer NOT NULL DEFAULT '0', "completion_tokens" integer NOT NULL DEFAULT '0', "cost" double precision NOT NULL DEFAULT '0', "error" text, CONSTRAINT "PK_c60c9661e3d7e7e80620749bc36" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_22957f07cfe3d33b41d1b23bcc" ON "model_call_log"  ("called_at") `,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_22957f07cfe3d33b41d1b23bcc"`);
    await queryRunner.query(`DROP TABLE "model_call_log"`);
  }
}
