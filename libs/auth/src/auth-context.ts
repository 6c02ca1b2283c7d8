export type AuthRole = 'proxy_admin' | 'proxy_admin_viewer' | 'internal_user';

/** Who is calling, as the guards resolved it; handlers receive it through `@Auth()`. */
export interface AuthContext {
  kind: 'master_key';
  role: AuthRole;
  /** What `created_by` / `updated_by` record: the key alias, or `master_key`. */
  actor: string;
}
