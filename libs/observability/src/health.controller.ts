import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '@app/auth';
import { packageInfo } from '@app/core';
import { type DatabaseHealth, DatabaseHealthService } from '@app/database';

export interface ReadinessResponse {
  status: 'ready' | 'not_ready';
  database: DatabaseHealth;
  version: string;
}

/** Probes for load balancers and orchestrators (the product page's paths, and `liveness` spelled right). */
@Public()
@Controller()
export class HealthController {
  constructor(private readonly database: DatabaseHealthService) {}

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

  /** 200 when the database answers and every migration is applied, 503 otherwise. */
  @Get('health/readiness')
  async readiness(@Res({ passthrough: true }) res: Response): Promise<ReadinessResponse> {
    const database = await this.database.check();
    const ready = database.status === 'up';
    res.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not_ready', database, version: packageInfo().version };
  }
}
