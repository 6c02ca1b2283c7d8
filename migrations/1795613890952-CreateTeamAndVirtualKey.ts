import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateTeamAndVirtualKey1795613890952 implements MigrationInterface {
  name = 'CreateTeamAndVirtualKey1795613890952';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "team" ("team_id" text NOT NULL, "team_alias" text, "blocked" boolean NOT NULL DEFAULT false, "mcp_servers" text array, "mcp_access_groups" text array, "mcp_tool_permissions" jsonb, "metadata" jsonb NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "created_by" text, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_by" text, CONSTRAINT "PK_a35a345d4436b82adf6bb76f3ce" PRIMARY KEY ("team_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "virtual_key" ("key_id" uuid NOT NULL DEFAULT gen_random_uuid(), "token_hash" text NOT NULL, "key_alias" text, "key_name" text NOT NULL, "team_id" text, "role" text NOT NULL DEFAULT 'internal_user', "mcp_servers" text array, "mcp_access_groups" text array, "mcp_tool_permissions" jsonb, "expires_at" TIMESTAMP WITH TIME ZONE, "blocked" boolean NOT NULL DEFAULT false, "last_used_at" TIMESTAMP WITH TIME ZONE, "metadata" jsonb NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "created_by" text, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_by" text, CONSTRAINT "PK_462f09d59c898e0d39df2587198" PRIMARY KEY ("key_id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_568e0165f02793fec59ced8cd0" ON "virtual_key"  ("token_hash") `,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_f696411bbc4a9c62cc1e1c402f" ON "virtual_key"  ("key_alias") WHERE "key_alias" IS NOT NULL`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_bab28c6c4d1cb580f84b28cb1e" ON "virtual_key"  ("team_id") `);
    await queryRunner.query(
      `ALTER TABLE "virtual_key" ADD CONSTRAINT "FK_bab28c6c4d1cb580f84b28cb1e0" FOREIGN KEY ("team_id") REFERENCES "team"("team_id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "virtual_key" DROP CONSTRAINT "FK_bab28c6c4d1cb580f84b28cb1e0"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_bab28c6c4d1cb580f84b28cb1e"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_f696411bbc4a9c62cc1e1c402f"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_568e0165f02793fec59ced8cd0"`);
    await queryRunner.query(`DROP TABLE "virtual_key"`);
    await queryRunner.query(`DROP TABLE "team"`);
  }
}
