// The migrations the gateway knows, in order. `npm run migration:generate -- Name` writes a new one and
// regenerates this list; a landed migration is never edited.
import type { MigrationClass } from '@app/database';
import { CreateMcpServer1795612097708 } from './1795612097708-CreateMcpServer.js';

export const ALL_MIGRATIONS: MigrationClass[] = [CreateMcpServer1795612097708];
