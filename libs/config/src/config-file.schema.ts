import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  IsInt,
  Max,
  Min,
  IsArray,
  IsBoolean,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsPort,
  IsString,
  Matches,
  ValidateNested,
  type ValidationError,
} from 'class-validator';
import { LOG_FORMATS, LOG_LEVELS } from './config.types.js';

const POSTGRES_URL = /^postgres(ql)?:\/\/\S+$/;
const MASTER_KEY = /^sk-\S{4,}$/;

export class ModelListEntrySchema {
  @IsString({ message: 'expected a non-empty string' })
  @IsNotEmpty({ message: 'expected a non-empty string' })
  model_name: string;

  @IsOptional()
  @IsObject({ message: 'expected a mapping' })
  litellm_params?: Record<string, unknown>;
}

export class GeneralSettingsSchema {
  @IsOptional()
  @IsString({ message: 'expected a string starting with "sk-"' })
  @Matches(MASTER_KEY, { message: 'expected a string starting with "sk-" (at least 4 more characters)' })
  master_key?: string;

  @IsOptional()
  @IsString({ message: 'expected a postgres:// or postgresql:// URL' })
  @Matches(POSTGRES_URL, { message: 'expected a postgres:// or postgresql:// URL' })
  database_url?: string;

  @IsOptional()
  @IsArray({ message: 'expected a list of URL prefixes or host names' })
  @IsString({ each: true, message: 'expected a list of URL prefixes or host names' })
  mcp_url_allowlist?: string[];

  @IsOptional()
  @IsBoolean({ message: 'expected true or false' })
  mcp_block_private_urls?: boolean;

  @IsOptional()
  @IsBoolean({ message: 'expected true or false' })
  allow_stdio_from_api?: boolean;

  @IsOptional()
  @IsInt({ message: 'expected an integer from 16 to 256' })
  @Min(16, { message: 'expected an integer from 16 to 256' })
  @Max(256, { message: 'expected an integer from 16 to 256' })
  max_tool_name_length?: number;

  @IsOptional()
  @IsInt({ message: 'expected a number of seconds from 10 to 604800' })
  @Min(10, { message: 'expected a number of seconds from 10 to 604800' })
  @Max(604_800, { message: 'expected a number of seconds from 10 to 604800' })
  session_idle_timeout?: number;

  @IsOptional()
  @IsArray({ message: 'expected a list of origins such as "https://app.example.com", or ["*"]' })
  @IsString({ each: true, message: 'expected a list of origins such as "https://app.example.com", or ["*"]' })
  mcp_allowed_origins?: string[];

  @IsOptional()
  @IsInt({ message: 'expected an integer from 1 to 100000' })
  @Min(1, { message: 'expected an integer from 1 to 100000' })
  @Max(100_000, { message: 'expected an integer from 1 to 100000' })
  max_sessions_per_key?: number;

  @IsOptional()
  @IsInt({ message: 'expected a number of seconds from 0 to 86400' })
  @Min(0, { message: 'expected a number of seconds from 0 to 86400' })
  @Max(86_400, { message: 'expected a number of seconds from 0 to 86400' })
  mcp_list_ttl_seconds?: number;

  @IsOptional()
  @IsInt({ message: 'expected a number of seconds from 0 to 3600' })
  @Min(0, { message: 'expected a number of seconds from 0 to 3600' })
  @Max(3600, { message: 'expected a number of seconds from 0 to 3600' })
  shutdown_grace_seconds?: number;

  @IsOptional()
  @IsInt({ message: 'expected a number of seconds from 0 to 86400' })
  @Min(0, { message: 'expected a number of seconds from 0 to 86400' })
  @Max(86_400, { message: 'expected a number of seconds from 0 to 86400' })
  database_outage_grace_seconds?: number;

  @IsOptional()
  @IsInt({ message: 'expected a number of seconds from 1 to 3600' })
  @Min(1, { message: 'expected a number of seconds from 1 to 3600' })
  @Max(3600, { message: 'expected a number of seconds from 1 to 3600' })
  key_cache_ttl_seconds?: number;

  @IsOptional()
  @IsBoolean({ message: 'expected true or false' })
  metrics_public?: boolean;

  @IsOptional()
  @IsBoolean({ message: 'expected true or false' })
  tool_call_log?: boolean;

  @IsOptional()
  @IsInt({ message: 'expected a number of days from 1 to 3650' })
  @Min(1, { message: 'expected a number of days from 1 to 3650' })
  @Max(3650, { message: 'expected a number of days from 1 to 3650' })
  audit_retention_days?: number;

  @IsOptional()
  @IsString({ message: 'expected a redis:// or rediss:// URL' })
  @Matches(/^rediss?:\/\/\S+$/, { message: 'expected a redis:// or rediss:// URL' })
  redis_url?: string;

  @IsOptional()
  @IsIn(['open', 'closed'], { message: 'expected open or closed' })
  rate_limit_fail_mode?: string;

  @IsOptional()
  @IsInt({ message: 'expected an integer from 100 to 1000000' })
  @Min(100, { message: 'expected an integer from 100 to 1000000' })
  @Max(1_000_000, { message: 'expected an integer from 100 to 1000000' })
  audit_queue_size?: number;
}

/** The config file, as far as the foundation knows it; later modules validate their own sections. */
export class ConfigFileSchema {
  @IsOptional()
  @IsArray({ message: 'expected a list of models' })
  @ValidateNested({ each: true })
  @Type(() => ModelListEntrySchema)
  model_list?: ModelListEntrySchema[];

  @IsOptional()
  @IsObject({ message: 'expected a mapping of server name to server settings' })
  mcp_servers?: Record<string, unknown>;

  @IsOptional()
  @IsObject({ message: 'expected a mapping' })
  @ValidateNested()
  @Type(() => GeneralSettingsSchema)
  general_settings?: GeneralSettingsSchema;
}

/** Settings that come from the environment and command-line flags, validated like the file. */
export class RuntimeSettingsSchema {
  @IsPort({ message: 'expected an integer between 0 and 65535' })
  PORT: string;

  @IsString()
  @IsNotEmpty({ message: 'expected a host name or IP address' })
  HOST: string;

  @IsIn(LOG_LEVELS, { message: `expected one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: string;

  @IsIn(LOG_FORMATS, { message: `expected one of ${LOG_FORMATS.join(', ')}` })
  LOG_FORMAT: string;

  @IsOptional()
  @Matches(MASTER_KEY, { message: 'expected a key starting with "sk-" (at least 4 more characters)' })
  MASTER_KEY?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty({ message: 'expected a non-empty string' })
  SALT_KEY?: string;

  @IsOptional()
  @Matches(POSTGRES_URL, { message: 'expected a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  @IsString()
  @IsNotEmpty({ message: 'expected a directory or memory://' })
  EMBEDDED_DB_DIR: string;

  @IsBoolean({ message: 'expected true or false' })
  RUN_MIGRATIONS: boolean;

  @IsOptional()
  @IsBoolean({ message: 'expected true or false' })
  MCP_BLOCK_PRIVATE_URLS?: boolean;

  @IsOptional()
  @Matches(/^[A-Za-z0-9._/\\:-]+(,[A-Za-z0-9._/\\:-]+)*$/, {
    message: 'expected a comma-separated list of command names or exact paths',
  })
  MCP_STDIO_EXTRA_COMMANDS?: string;

  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'expected an http:// or https:// URL (the OTLP/HTTP collector)' })
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'expected a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @IsOptional()
  @Matches(/^https?:\/\/[^\s?#]+$/, {
    message: 'expected the http:// or https:// URL clients and browsers reach the gateway at (no query)',
  })
  PROXY_BASE_URL?: string;
}

/** Flattens class-validator's error tree into `path: message` lines, one per failed constraint. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): string[] {
  const lines: string[] = [];
  for (const error of errors) {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const messages = [...new Set(Object.values(error.constraints ?? {}))];
    // Show the first message per key: the others restate it ("a string", "starting with sk-").
    if (messages.length > 0) lines.push(`${path}: ${messages[0]}${describeValue(error.value)}`);
    if (error.children?.length) lines.push(...flattenValidationErrors(error.children, path));
  }
  return lines;
}

function describeValue(value: unknown): string {
  if (value === undefined) return ' (missing)';
  if (value === null) return ' (got null)';
  if (typeof value === 'object') return Array.isArray(value) ? ' (got a list)' : '';
  return '';
}
