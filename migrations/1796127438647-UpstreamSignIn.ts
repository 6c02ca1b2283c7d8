import type { MigrationInterface, QueryRunner } from 'typeorm';

export class UpstreamSignIn1796127438647 implements MigrationInterface {
  name = 'UpstreamSignIn1796127438647';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "mcp_upstream_sign_in" ("server_id" text NOT NULL, "owner" text NOT NULL, "secret" text NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE, "scope" text, "connected_at" TIMESTAMP WITH TIME ZONE, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_0fc9ff1f22fa280612778b9000d" PRIMARY KEY ("server_id", "owner"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "mcp_upstream_oauth_client" ("server_id" text NOT NULL, "issuer" text NOT NULL, "secret" text NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_bdcf2c1ac4a608616e941d352ac" PRIMARY KEY ("server_id"))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "mcp_upstream_oauth_client"`);
    await queryRunner.query(`DROP TABLE "mcp_upstream_sign_in"`);
  }
}
