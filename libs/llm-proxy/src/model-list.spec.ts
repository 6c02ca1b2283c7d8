import { parseModelList } from './model-list.js';

describe('parseModelList', () => {
  it('reads LiteLLM entries: provider prefix, api_base, key, timeout (s), retries, prices', () => {
    const { deployments, problems } = parseModelList([
      {
        model_name: 'gpt',
        litellm_params: { model: 'openai/gpt-4o', api_key: 'k', timeout: 30, max_retries: 1 },
        model_info: { input_cost_per_token: 0.001, output_cost_per_token: 0.002 },
      },
      { model_name: 'local', litellm_params: { model: 'ollama_chat/llama3' } },
    ]);
    expect(problems).toEqual([]);
    expect(deployments[0]).toMatchObject({
      modelName: 'gpt',
      upstreamModel: 'gpt-4o',
      provider: 'openai',
      apiBase: null,
      apiKey: 'k',
      timeoutMs: 30_000,
      maxRetries: 1,
      inputCostPerToken: 0.001,
      outputCostPerToken: 0.002,
    });
    expect(deployments[1]).toMatchObject({
      apiBase: 'http://localhost:11434/v1',
      maxRetries: 2,
      timeoutMs: 600_000,
    });
  });

  it('names every entry it cannot serve, and what it can', () => {
    const { problems } = parseModelList([
      { model_name: 'a', litellm_params: { model: 'anthropic/claude' } },
      { model_name: 'b', litellm_params: { model: 'gpt-4o' } },
      { model_name: 'c', litellm_params: { model: 'openai/x', api_base: 'ftp://x', timeout: -1 } },
    ]);
    expect(problems).toEqual([
      'model_list[0].litellm_params.model: provider "anthropic" is not supported; supported: openai, hosted_vllm, ollama_chat (servers that speak the OpenAI Chat Completions API, at any api_base)',
      'model_list[1].litellm_params.model: expected "<provider>/<model>", e.g. "openai/gpt-4o" (providers: openai, hosted_vllm, ollama_chat)',
      'model_list[2].litellm_params.api_base: expected an http:// or https:// URL',
      'model_list[2].litellm_params.timeout: expected a number of at least 0.001',
    ]);
  });
});
