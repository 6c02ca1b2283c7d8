export { type ToolFilter, type AccessMap, toolAllowed, accessFor } from './access-policy.js';
export { assertAdminAccess } from './admin.guard.js';
export { KeyNotFoundError } from './auth.errors.js';
export { extractApiKey } from './api-key.js';
export {
  type AuthContext,
  canReadAll,
  isAdmin,
  mayUseModel,
  type RateLimitOwner,
  signInOwner,
} from './auth-context.js';
export {
  IS_PUBLIC,
  ACCESS,
  Public,
  AdminOnly,
  AnyKey,
  Auth,
  type AuthenticatedRequest,
} from './auth.decorators.js';
export {
  GenerateKeyDto,
  KeyRefDto,
  UpdateKeyDto,
  DeleteKeysDto,
  NewTeamDto,
  UpdateTeamDto,
  DeleteTeamsDto,
} from './auth.dto.js';
export { AuthModule } from './auth.module.js';
export { type ObjectPermission, objectPermissionOf } from './grants.js';
export { KeyAuthenticator } from './key-authenticator.js';
export { KeyService } from './key.service.js';
export type { TeamEntity } from './team.entity.js';
export { TeamService } from './team.service.js';
export type { VirtualKeyEntity } from './virtual-key.entity.js';
export { type LimitsResponse, limitsResponse } from './limits.js';
