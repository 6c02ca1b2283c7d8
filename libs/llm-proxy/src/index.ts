export { LlmProxyModule } from './llm-proxy.module.js';
export { type ModelDeployment, OPENAI_COMPATIBLE_PREFIXES, parseModelList } from './model-list.js';
