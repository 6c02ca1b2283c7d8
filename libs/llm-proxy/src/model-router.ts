import path from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import OpenAI from 'openai';
import { ConfigError, GATEWAY_CONFIG, type GatewayConfig } from '@app/config';
import { type ModelDeployment, parseModelList } from './model-list.js';

/** A deployment that failed (5xx or unreachable after its retries) is skipped for this long when others exist. */
const FAILING_FOR_MS = 30_000;

interface Slot {
  deployment: ModelDeployment;
  client: OpenAI;
  failingUntil: number;
}

/**
 * The models of `model_list`, each name with its deployments: picked round robin, skipping one that failed
 * lately while another is healthy. Every deployment has its own official `openai` client (its `api_base`,
 * `api_key`, `timeout` and `max_retries`: the client retries 408/409/429/5xx and connection errors with
 * backoff). A `model_list` entry the gateway cannot serve stops the boot, naming it.
 */
@Injectable()
export class ModelRouter {
  private readonly logger = new Logger('Models');
  private readonly byName = new Map<string, Slot[]>();
  private readonly next = new Map<string, number>();

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    const { deployments, problems } = parseModelList(config.modelList);
    const file = path.basename(config.configPath ?? 'config');
    if (problems.length) throw new ConfigError(problems.map((p) => `${file}: ${p}`));
    for (const deployment of deployments) {
      const slots = this.byName.get(deployment.modelName) ?? [];
      slots.push({
        deployment,
        failingUntil: 0,
        client: new OpenAI({
          apiKey: deployment.apiKey ?? 'no-key',
          baseURL: deployment.apiBase ?? undefined,
          timeout: deployment.timeoutMs,
          maxRetries: deployment.maxRetries,
        }),
      });
      this.byName.set(deployment.modelName, slots);
    }
    if (deployments.length)
      this.logger.log({
        msg: 'models loaded',
        models: [...this.byName.keys()],
        deployments: deployments.length,
      });
  }

  /** Every model name, in config order. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  has(model: string): boolean {
    return this.byName.has(model);
  }

  /** The deployment to use next for this name (round robin; failing ones skipped while another is not). */
  pick(model: string): Slot | undefined {
    const slots = this.byName.get(model);
    if (!slots?.length) return undefined;
    const start = this.next.get(model) ?? 0;
    const now = Date.now();
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[(start + i) % slots.length];
      if (slot.failingUntil <= now) {
        this.next.set(model, (start + i + 1) % slots.length);
        return slot;
      }
    }
    this.next.set(model, (start + 1) % slots.length);
    return slots[start % slots.length];
  }

  /** How the deployment's last request ended: a server error or no answer marks it failing for a while. */
  report(slot: Slot, status: number | null): void {
    if (status === null || status >= 500) {
      if (slot.failingUntil < Date.now())
        this.logger.warn({
          msg: 'model deployment failing; others are preferred for a while',
          model: slot.deployment.modelName,
          deployment: `model_list[${slot.deployment.index}]`,
          status,
        });
      slot.failingUntil = Date.now() + FAILING_FOR_MS;
    } else slot.failingUntil = 0;
  }
}

export type { Slot as ModelSlot };
