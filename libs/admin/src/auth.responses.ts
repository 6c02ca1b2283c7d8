import {
  type LimitsResponse,
  limitsResponse,
  type ObjectPermission,
  objectPermissionOf,
  type TeamEntity,
  type VirtualKeyEntity,
} from '@app/auth';

/** What the API shows of a key: never the key itself, only its hash (`token`) and masked name. */
export interface KeyResponse extends LimitsResponse {
  key_id: string;
  token: string;
  key_name: string;
  key_alias: string | null;
  team_id: string | null;
  role: string;
  object_permission: ObjectPermission;
  expires: string | null;
  blocked: boolean;
  last_used_at: string | null;
  user_id: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
  created_by: string | null;
  updated_at: string;
  updated_by: string | null;
}

export function toKeyResponse(row: VirtualKeyEntity): KeyResponse {
  return {
    key_id: row.keyId,
    token: row.tokenHash,
    key_name: row.keyName,
    key_alias: row.keyAlias,
    team_id: row.teamId,
    role: row.role,
    object_permission: objectPermissionOf(row),
    expires: row.expiresAt?.toISOString() ?? null,
    blocked: row.blocked,
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
    user_id: row.userId,
    metadata: row.metadata,
    ...limitsResponse(row),
    created_at: row.createdAt.toISOString(),
    created_by: row.createdBy,
    updated_at: row.updatedAt.toISOString(),
    updated_by: row.updatedBy,
  };
}

export interface TeamResponse extends LimitsResponse {
  team_id: string;
  team_alias: string | null;
  blocked: boolean;
  object_permission: ObjectPermission;
  metadata: Record<string, unknown>;
  created_at: string;
  created_by: string | null;
  updated_at: string;
  updated_by: string | null;
}

export function toTeamResponse(row: TeamEntity): TeamResponse {
  return {
    team_id: row.teamId,
    team_alias: row.teamAlias,
    blocked: row.blocked,
    object_permission: objectPermissionOf(row),
    metadata: row.metadata,
    ...limitsResponse(row),
    created_at: row.createdAt.toISOString(),
    created_by: row.createdBy,
    updated_at: row.updatedAt.toISOString(),
    updated_by: row.updatedBy,
  };
}
