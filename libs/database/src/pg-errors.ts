/** Postgres error codes the repositories translate into their module's errors. */
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

/** The SQLSTATE of a driver error, whether TypeORM wrapped it (QueryFailedError.driverError) or not. */
function sqlState(error: unknown): unknown {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  return e?.code ?? e?.driverError?.code;
}

/** A unique constraint refused the write (a name or alias already taken). */
export const isUniqueViolation = (error: unknown): boolean => sqlState(error) === UNIQUE_VIOLATION;

/** A foreign key refused the write (a referenced row is missing, or a referencing row still exists). */
export const isForeignKeyViolation = (error: unknown): boolean => sqlState(error) === FOREIGN_KEY_VIOLATION;
