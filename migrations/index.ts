// The migrations the gateway knows, in order. `npm run migration:generate -- Name` writes a new one and
// regenerates this list; a landed migration is never edited.
import type { MigrationClass } from '@app/database';
import { CreateMcpServer1795612097708 } from './1795612097708-CreateMcpServer.js';
import { CreateTeamAndVirtualKey1795613890952 } from './1795613890952-CreateTeamAndVirtualKey.js';
import { AddMcpServerSessionMode1795615816250 } from './1795615816250-AddMcpServerSessionMode.js';
import { McpServerFreeIdAndSpecVersion1796079515297 } from './1796079515297-McpServerFreeIdAndSpecVersion.js';
import { KeyAndTeamLimits1796080667040 } from './1796080667040-KeyAndTeamLimits.js';
import { McpServerLimits1796081335334 } from './1796081335334-McpServerLimits.js';
import { McpServerOAuth21796085226241 } from './1796085226241-McpServerOAuth2.js';
import { Observability1796085997749 } from './1796085997749-Observability.js';
import { ModelCallLog1796088664449 } from './1796088664449-ModelCallLog.js';
import { RateLimits1796089431593 } from './1796089431593-RateLimits.js';
import { ClientSessions1796093647654 } from './1796093647654-ClientSessions.js';
import { InputRelay1796108095591 } from './1796108095591-InputRelay.js';
import { ServerProtocolVersion1796116226564 } from './1796116226564-ServerProtocolVersion.js';
import { UpstreamSignIn1796127438647 } from './1796127438647-UpstreamSignIn.js';

export const ALL_MIGRATIONS: MigrationClass[] = [
  CreateMcpServer1795612097708,
  CreateTeamAndVirtualKey1795613890952,
  AddMcpServerSessionMode1795615816250,
  McpServerFreeIdAndSpecVersion1796079515297,
  KeyAndTeamLimits1796080667040,
  McpServerLimits1796081335334,
  McpServerOAuth21796085226241,
  Observability1796085997749,
  ModelCallLog1796088664449,
  RateLimits1796089431593,
  ClientSessions1796093647654,
  InputRelay1796108095591,
  ServerProtocolVersion1796116226564,
  UpstreamSignIn1796127438647,
];
