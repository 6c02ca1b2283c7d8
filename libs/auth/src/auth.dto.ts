import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { IsNameListMap } from '@app/config';
import { AUTH_ROLES, type AuthRole } from './auth-context.js';
import { DURATION_PATTERN, DURATION_RULE } from './key-secret.js';

/** LiteLLM's budget periods: `30s`, `30m`, `24h`, `30d`, `1mo`. */
const BUDGET_DURATION_PATTERN = /^[1-9][0-9]{0,5}(s|m|h|d|mo)$/;
const BUDGET_DURATION_RULE = 'a number and a unit: s, m, h, d or mo ("30d", "1mo")';

const nullable = (_: object, value: unknown) => value !== null;
const GROUP_NAME = /^[A-Za-z0-9_.:]{1,64}$/;
export const ALIAS_PATTERN = /^(?!sk-)[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}$/;
const ALIAS_RULE =
  '1 to 128 letters, digits, "_", ".", ":", "@", "/" or "-", starting with a letter or digit, not "sk-"';
export const TEAM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const TEAM_ID_RULE = '1 to 128 letters, digits, "_", ".", ":" or "-", starting with a letter or digit';

const IsToolPermissions = () =>
  IsNameListMap(
    'mcp_tool_permissions must map a server (id, name or alias) to a list of tool names, e.g. {"github": ["create_issue"]}',
  );

/**
 * What a key or team is granted (the product page's `object_permission`). Absent = unchanged (update) or
 * unset (create); `null` = unset; `[]` = nothing.
 */
export class ObjectPermissionDto {
  @IsOptional()
  @ValidateIf(nullable)
  @IsArray()
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  mcp_servers?: string[] | null;

  @IsOptional()
  @ValidateIf(nullable)
  @IsArray()
  @ArrayMaxSize(1000)
  @Matches(GROUP_NAME, {
    each: true,
    message: 'mcp_access_groups must be names of 1 to 64 letters, digits, "_", "." or ":"',
  })
  mcp_access_groups?: string[] | null;

  @IsOptional()
  @ValidateIf(nullable)
  @IsToolPermissions()
  mcp_tool_permissions?: Record<string, string[]> | null;
}

class GrantFieldsDto {
  @IsOptional()
  @ValidateIf(nullable)
  @IsObject()
  @ValidateNested()
  @Type(() => ObjectPermissionDto)
  object_permission?: ObjectPermissionDto | null;

  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;

  // LiteLLM's budget and rate-limit fields (docs/API.md says which are enforced).

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(256, { each: true })
  models?: string[];

  @IsOptional()
  @ValidateIf(nullable)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'max_budget must be a number' })
  @Min(0, { message: 'max_budget must be 0 or more' })
  max_budget?: number | null;

  @IsOptional()
  @ValidateIf(nullable)
  @Matches(BUDGET_DURATION_PATTERN, { message: `budget_duration must be ${BUDGET_DURATION_RULE}, or null` })
  budget_duration?: string | null;

  @IsOptional()
  @ValidateIf(nullable)
  @IsInt({ message: 'tpm_limit must be a whole number of tokens per minute' })
  @Min(0)
  tpm_limit?: number | null;

  @IsOptional()
  @ValidateIf(nullable)
  @IsInt({ message: 'rpm_limit must be a whole number of requests per minute' })
  @Min(0)
  rpm_limit?: number | null;

  /** Calls per minute to one MCP server (`"<server>": n`) or one tool (`"<server>/<tool>": n`). */
  @IsOptional()
  @ValidateIf(nullable)
  @ValidateBy({
    name: 'rpmMap',
    validator: {
      validate: (value: unknown) =>
        value !== null &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        Object.entries(value).every(
          ([name, n]) =>
            /^[A-Za-z0-9_]{1,64}(\/[^\s/]{1,256})?$/.test(name) &&
            Number.isInteger(n) &&
            (n as number) >= 0 &&
            (n as number) <= 1_000_000,
        ),
      defaultMessage: () =>
        'mcp_rpm_limit must map "<server>" or "<server>/<tool>" to whole numbers of calls per minute, e.g. {"github": 60, "github/create_issue": 5}',
    },
  })
  mcp_rpm_limit?: Record<string, number> | null;

  /** Read-only: counted by the gateway. */
  @IsOptional()
  @ValidateBy({
    name: 'readOnly',
    validator: { validate: () => false, defaultMessage: () => 'spend is read-only: the gateway counts it' },
  })
  spend?: unknown;
}

class KeyFieldsDto extends GrantFieldsDto {
  @IsOptional()
  @ValidateIf(nullable)
  @Matches(ALIAS_PATTERN, { message: `key_alias must be ${ALIAS_RULE}` })
  key_alias?: string | null;

  @IsOptional()
  @ValidateIf(nullable)
  @IsString()
  @IsNotEmpty()
  team_id?: string | null;

  @IsOptional()
  @IsIn(AUTH_ROLES, { message: `role must be one of ${AUTH_ROLES.join(', ')}` })
  role?: AuthRole;

  /** LiteLLM's `user_id`: who the key is for. */
  @IsOptional()
  @ValidateIf(nullable)
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  user_id?: string | null;

  /** From now; null = never expires. */
  @IsOptional()
  @ValidateIf(nullable)
  @Matches(DURATION_PATTERN, { message: `duration must be ${DURATION_RULE}, or null for no expiry` })
  duration?: string | null;
}

export class GenerateKeyDto extends KeyFieldsDto {}

/** A key named by the key itself (`sk-...`), its token hash (`token`), or its `key_id`. */
export class KeyRefDto {
  @IsString()
  @IsNotEmpty({ message: 'key is required: the key (sk-...), its token hash or its key_id' })
  @MaxLength(512)
  key: string;
}

export class UpdateKeyDto extends KeyFieldsDto {
  @IsString()
  @IsNotEmpty({ message: 'key is required: the key (sk-...), its token hash or its key_id' })
  @MaxLength(512)
  key: string;

  @IsOptional()
  @IsBoolean()
  blocked?: boolean;
}

export class DeleteKeysDto {
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  keys?: string[];

  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  key_aliases?: string[];
}

class TeamFieldsDto extends GrantFieldsDto {
  @IsOptional()
  @ValidateIf(nullable)
  @IsString()
  @MaxLength(256)
  team_alias?: string | null;

  @IsOptional()
  @IsBoolean()
  blocked?: boolean;
}

export class NewTeamDto extends TeamFieldsDto {
  /** Optional: a generated uuid otherwise. */
  @IsOptional()
  @Matches(TEAM_ID_PATTERN, { message: `team_id must be ${TEAM_ID_RULE}` })
  team_id?: string;
}

export class UpdateTeamDto extends TeamFieldsDto {
  @IsString()
  @IsNotEmpty({ message: 'team_id is required: the team to update' })
  team_id: string;
}

export class DeleteTeamsDto {
  @IsArray()
  @ArrayMinSize(1, { message: 'team_ids must name at least one team' })
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  team_ids: string[];
}

export class TeamRefDto {
  @IsString()
  @IsNotEmpty({ message: 'team_id is required' })
  team_id: string;
}

/** `POST /ui/session`: the key to sign in to the web UI with. */
export class UiSignInDto {
  @IsString()
  @IsNotEmpty({ message: 'key is required: the master key or a virtual key (sk-...)' })
  @MaxLength(512)
  key: string;
}
