import { Controller, Get, HttpCode, Res, SetMetadata } from '@nestjs/common';
import type { Response } from 'express';
import { packageInfo, PUBLIC_ROUTE } from '@app/core';
import { type DatabaseHealth, DatabaseHealthService } from '@app/database';
import { DrainState } from './drain-state.js';

export interface ReadinessResponse {
  status: 'ready' | 'not_ready' | 'draining';
  database: DatabaseHealth;
  version: string;
}

/** Probes for load balancers and orchestrators (the product page's paths, and `liveness` spelled right). */
@SetMetadata(PUBLIC_ROUTE, true)
@Controller()
export class HealthController {
  constructor(
    private readonly database: DatabaseHealthService,
    private readonly drain: DrainState,
  ) {}

  @Get()
  root() {
    const { name, version } = packageInfo();
    return { name, version, health: '/health/readiness' };
  }

  @Get(['health/liveliness', 'health/liveness'])
  @HttpCode(200)
  liveness() {
    return { status: 'alive', uptime_s: Math.round(process.uptime()) };
  }

  /**
   * 200 when the database answers and every migration is applied, 503 otherwise, and 503 from the first moment
   * of a graceful shutdown, so that a load balancer stops sending while in-flight calls finish.
   */
  @Get('health/readiness')
  async readiness(@Res({ passthrough: true }) res: Response): Promise<ReadinessResponse> {
    const database = await this.database.check();
    const status = this.drain.isDraining ? 'draining' : database.status === 'up' ? 'ready' : 'not_ready';
    res.status(status === 'ready' ? 200 : 503);
    return { status, database, version: packageInfo().version };
  }
}
