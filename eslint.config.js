// @ts-check
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

/** Lib import rules (DESIGN.md §2): which `@app/*` each lib may import. Checked here, in CI. */
const allowedImports = {
  core: [],
  config: ['core'],
  database: ['core', 'config'],
  http: ['core'],
  observability: ['core', 'config', 'database'],
  auth: ['core', 'config', 'database'],
  admin: ['core', 'config', 'auth', 'mcp-registry', 'tool-proxy', 'observability'],
  'mcp-registry': ['core', 'config', 'database'],
  'tool-proxy': ['core', 'config', 'database', 'http', 'auth', 'mcp-registry', 'observability'],
  'openai-bridge': [],
  'llm-proxy': ['core', 'config', 'http', 'auth', 'tool-proxy', 'openai-bridge', 'observability'],
  testing: [
    'core',
    'config',
    'database',
    'http',
    'observability',
    'mcp-registry',
    'auth',
    'tool-proxy',
    'openai-bridge',
  ],
};
const allLibs = Object.keys(allowedImports);

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'data/**',
      'scripts/*.mjs',
      'test/fixtures/*.mjs',
      'bench/*.mjs',
      'libs/**/*.worker.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.name='forwardRef']",
          message: 'forwardRef is banned: fix the module cycle.',
        },
        {
          selector: "Property[key.name='synchronize'][value.value=true]",
          message: 'Use migrations, never synchronize.',
        },
      ],
    },
  },
  {
    // The web UI (apps/ui): React's rules of hooks; it runs in the browser and imports nothing of the server.
    files: ['apps/ui/src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@app/*', 'node:*'], message: 'The web UI talks to the gateway over HTTP only.' },
          ],
        },
      ],
    },
  },
  ...allLibs.map((lib) => ({
    files: [`libs/${lib}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@app/*/*'], message: 'Import another lib only through its index: @app/<lib>.' },
            { group: ['../../*'], message: 'No deep relative imports across libs: use @app/<lib>.' },
            ...allLibs
              .filter((other) => other !== lib && !allowedImports[lib].includes(other))
              .map((other) => ({
                group: [`@app/${other}`],
                message: `libs/${lib} may not import @app/${other} (DESIGN.md §2).`,
              })),
          ],
        },
      ],
    },
  })),
  {
    // The registry is data (records, rules, snapshot, cipher): the wire to upstreams belongs to tool-proxy.
    files: ['libs/mcp-registry/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@modelcontextprotocol/sdk/client/*', '@modelcontextprotocol/sdk/server/*'],
              message:
                'libs/mcp-registry holds no MCP client or server: upstream code lives in libs/tool-proxy.',
            },
          ],
          paths: ['node:http', 'node:https', 'http', 'https', 'node:http2', 'http2'].map((name) => ({
            name,
            message: 'libs/mcp-registry opens no sockets: upstream code lives in libs/tool-proxy.',
          })),
        },
      ],
    },
  },
  {
    // The bridge is packed as a standalone npm package with no runtime dependencies.
    files: ['libs/openai-bridge/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@nestjs/*', 'typeorm', 'express', 'pg'],
              message: 'libs/openai-bridge is framework-free.',
            },
            {
              group: ['@modelcontextprotocol/*', 'openai', 'openai/*'],
              allowTypeImports: true,
              message: 'Type-only imports: the packed bridge has no runtime dependencies.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', '**/*.int-spec.ts', 'libs/testing/**/*.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      // supertest bodies are `any`: tests assert on their shape instead.
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  { files: ['*.js'], ...tseslint.configs.disableTypeChecked },
  prettier,
);
