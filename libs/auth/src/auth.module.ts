import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { KeyGuard } from './auth.guard.js';
import { KeyAuthenticator } from './key-authenticator.js';
import { KeyRepository } from './key.repository.js';
import { KeyService } from './key.service.js';
import { TeamEntity } from './team.entity.js';
import { TeamRepository } from './team.repository.js';
import { TeamService } from './team.service.js';
import { VirtualKeyEntity } from './virtual-key.entity.js';
import { UiSessionController } from './ui-session.controller.js';
import { UiSessions } from './ui-session.js';

/** Keys, teams, the global, default-deny key guard, and the web UI's sign-in. */
@Module({
  imports: [TypeOrmModule.forFeature([TeamEntity, VirtualKeyEntity])],
  controllers: [UiSessionController],
  providers: [
    UiSessions,
    KeyRepository,
    TeamRepository,
    KeyAuthenticator,
    KeyService,
    TeamService,
    { provide: APP_GUARD, useClass: KeyGuard },
  ],
  exports: [KeyAuthenticator, KeyService, TeamService],
})
export class AuthModule {}
