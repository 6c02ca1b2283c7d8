import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateMcpServer1795612097708 implements MigrationInterface {
  name = 'CreateMcpServer1795612097708';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "mcp_server" ("server_id" uuid NOT NULL DEFAULT gen_random_uuid(), "server_name" text NOT NULL, "alias" text NOT NULL, "description" text, "url" text, "transport" text NOT NULL DEFAULT 'http', "command" text, "args" text array NOT NULL DEFAULT '{}', "auth_type" text NOT NULL DEFAULT 'none', "credentials" text, "extra_headers" text array NOT NULL DEFAULT '{}', "allowed_tools" text array, "disallowed_tools" text array NOT NULL DEFAULT '{}', "mcp_access_groups" text array NOT NULL DEFAULT '{}', "allow_all_keys" boolean NOT NULL DEFAULT false, "timeout_ms" integer, "mcp_info" jsonb NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "created_by" text, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_by" text, CONSTRAINT "UQ_06bcf0bb05b20cc22cc4d94e1e6" UNIQUE ("server_name"), CONSTRAINT "UQ_c993fcc9d389a10d9e1071a5991" UNIQUE ("alias"), CONSTRAINT "PK_ddf367def88ca8ac23488243735" PRIMARY KEY ("server_id"))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "mcp_server"`);
  }
}
