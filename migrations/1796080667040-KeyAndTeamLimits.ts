import type { MigrationInterface, QueryRunner } from 'typeorm';

export class KeyAndTeamLimits1796080667040 implements MigrationInterface {
  name = 'KeyAndTeamLimits1796080667040';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "team" ADD "models" text array NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "team" ADD "max_budget" double precision`);
    await queryRunner.query(`ALTER TABLE "team" ADD "budget_duration" text`);
    await queryRunner.query(`ALTER TABLE "team" ADD "tpm_limit" integer`);
    await queryRunner.query(`ALTER TABLE "team" ADD "rpm_limit" integer`);
    await queryRunner.query(`ALTER TABLE "team" ADD "spend" double precision NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "virtual_key" ADD "models" text array NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "virtual_key" ADD "max_budget" double precision`);
    await queryRunner.query(`ALTER TABLE "virtual_key" ADD "budget_duration" text`);
    await queryRunner.query(`ALTER TABLE "virtual_key" ADD "tpm_limit" integer`);
    await queryRunner.query(`ALTER TABLE "virtual_key" ADD "rpm_limit" integer`);
    await queryRunner.query(`ALTER TABLE "virtual_key" ADD "spend" double precision NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "virtual_key" ADD "user_id" text`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "virtual_key" DROP COLUMN "user_id"`);
    await queryRunner.query(`ALTER TABLE "virtual_key" DROP COLUMN "spend"`);
    await queryRunner.query(`ALTER TABLE "virtual_key" DROP COLUMN "rpm_limit"`);
    await queryRunner.query(`ALTER TABLE "virtual_key" DROP COLUMN "tpm_limit"`);
    await queryRunner.query(`ALTER TABLE "virtual_key" DROP COLUMN "budget_duration"`);
    await queryRunner.query(`ALTER TABLE "virtual_key" DROP COLUMN "max_budget"`);
    await queryRunner.query(`ALTER TABLE "virtual_key" DROP COLUMN "models"`);
    await queryRunner.query(`ALTER TABLE "team" DROP COLUMN "spend"`);
    await queryRunner.query(`ALTER TABLE "team" DROP COLUMN "rpm_limit"`);
    await queryRunner.query(`ALTER TABLE "team" DROP COLUMN "tpm_limit"`);
    await queryRunner.query(`ALTER TABLE "team" DROP COLUMN "budget_duration"`);
    await queryRunner.query(`ALTER TABLE "team" DROP COLUMN "max_budget"`);
    await queryRunner.query(`ALTER TABLE "team" DROP COLUMN "models"`);
  }
}
