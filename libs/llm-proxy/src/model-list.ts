import type { ModelListEntry } from '@app/config';

/** Provider prefixes of `litellm_params.model` whose servers speak the OpenAI Chat Completions API. */
export const OPENAI_COMPATIBLE_PREFIXES = ['openai', 'hosted_vllm', 'ollama_chat'] as const;

/** One upstream deployment of a model name (several entries with one `model_name` are load-balanced). */
export interface ModelDeployment {
  /** What clients ask for (`model` in their request). */
  modelName: string;
  /** The model's name upstream (after the provider prefix). */
  upstreamModel: string;
  provider: (typeof OPENAI_COMPATIBLE_PREFIXES)[number];
  /** Null: the provider's default (OpenAI's API; `http://localhost:11434/v1` for ollama_chat). */
  apiBase: string | null;
  /** Secret: never logged or shown. */
  apiKey: string | null;
  timeoutMs: number;
  maxRetries: number;
  rpm: number | null;
  tpm: number | null;
  /** Per-token prices (LiteLLM's `model_info.input_cost_per_token`, `output_cost_per_token`). */
  inputCostPerToken: number;
  outputCostPerToken: number;
  /** Position in model_list (names the deployment in logs: `model_list[2]`). */
  index: number;
}

const DEFAULT_TIMEOUT_S = 600;
const DEFAULT_RETRIES = 2;

/**
 * The deployments of a config's `model_list`, or the problems (`model_list[i].field: what is wrong`), every one
 * of them: a prefix other than the OpenAI-compatible ones names those that are supported.
 */
export function parseModelList(entries: readonly ModelListEntry[]): {
  deployments: ModelDeployment[];
  problems: string[];
} {
  const deployments: ModelDeployment[] = [];
  const problems: string[] = [];
  entries.forEach((entry, index) => {
    const where = `model_list[${index}]`;
    const params = entry.litellm_params ?? {};
    const info = (entry.model_info && typeof entry.model_info === 'object' ? entry.model_info : {}) as Record<
      string,
      unknown
    >;
    const model = params.model;
    if (typeof model !== 'string' || !model.includes('/')) {
      problems.push(
        `${where}.litellm_params.model: expected "<provider>/<model>", e.g. "openai/gpt-4o" (providers: ${OPENAI_COMPATIBLE_PREFIXES.join(', ')})`,
      );
      return;
    }
    const slash = model.indexOf('/');
    const prefix = model.slice(0, slash);
    if (!(OPENAI_COMPATIBLE_PREFIXES as readonly string[]).includes(prefix)) {
      problems.push(
        `${where}.litellm_params.model: provider "${prefix}" is not supported; supported: ${OPENAI_COMPATIBLE_PREFIXES.join(', ')} (servers that speak the OpenAI Chat Completions API, at any api_base)`,
      );
      return;
    }
    const number = (value: unknown, field: string, min: number, fallback: number | null) => {
      if (value === undefined || value === null) return fallback;
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n) || n < min) {
        problems.push(`${where}.${field}: expected a number of at least ${min}`);
        return fallback;
      }
      return n;
    };
    const string = (value: unknown, field: string) => {
      if (value === undefined || value === null) return null;
      if (typeof value !== 'string' || value === '') {
        problems.push(`${where}.${field}: expected a non-empty string`);
        return null;
      }
      return value;
    };
    const apiBase = string(params.api_base, 'litellm_params.api_base');
    if (apiBase !== null && !/^https?:\/\/\S+$/.test(apiBase))
      problems.push(`${where}.litellm_params.api_base: expected an http:// or https:// URL`);
    const provider = prefix as ModelDeployment['provider'];
    deployments.push({
      modelName: entry.model_name,
      upstreamModel: model.slice(slash + 1),
      provider,
      apiBase: apiBase ?? (provider === 'ollama_chat' ? 'http://localhost:11434/v1' : null),
      apiKey: string(params.api_key, 'litellm_params.api_key'),
      timeoutMs:
        (number(params.timeout, 'litellm_params.timeout', 0.001, DEFAULT_TIMEOUT_S) as number) * 1000,
      maxRetries: Math.floor(
        number(params.max_retries, 'litellm_params.max_retries', 0, DEFAULT_RETRIES) as number,
      ),
      rpm: number(params.rpm, 'litellm_params.rpm', 1, null),
      tpm: number(params.tpm, 'litellm_params.tpm', 1, null),
      inputCostPerToken: number(info.input_cost_per_token, 'model_info.input_cost_per_token', 0, 0) as number,
      outputCostPerToken: number(
        info.output_cost_per_token,
        'model_info.output_cost_per_token',
        0,
        0,
      ) as number,
      index,
    });
  });
  return { deployments, problems };
}
