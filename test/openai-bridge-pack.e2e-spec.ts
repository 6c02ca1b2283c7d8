import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The bridge as users get it: packed, installed into an empty project, imported from plain Node. */
describe('openai-bridge package (e2e)', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'bridge-pack-'));

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('packs with its own package.json, types and README, installs offline, and works from plain ESM', () => {
    const tarball = execFileSync(process.execPath, ['scripts/pack-bridge.mjs', path.join(work, 'out')], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .at(-1) as string;
    const listing = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(listing).toEqual(
      expect.arrayContaining([
        'package/package.json',
        'package/README.md',
        'package/dist/index.js',
        'package/dist/index.d.ts',
      ]),
    );
    expect(listing.some((f) => f.includes('.spec.'))).toBe(false);

    const app = path.join(work, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--legacy-peer-deps', tarball], {
      cwd: app,
      stdio: 'pipe',
    });
    const installed = JSON.parse(
      readFileSync(path.join(app, 'node_modules/@mcp-gateway/openai-bridge/package.json'), 'utf8'),
    ) as { dependencies?: unknown; types: string };
    expect(installed.dependencies).toBeUndefined();
    expect(installed.types).toBe('./dist/index.d.ts');

    writeFileSync(
      path.join(app, 'main.mjs'),
      `import { mcpToolToOpenAiTool, openAiToolCallToMcpCall, InvalidToolArgumentsError } from '@mcp-gateway/openai-bridge';
const tool = mcpToolToOpenAiTool({ name: 'gh-search', inputSchema: { type: 'object' } });
const call = openAiToolCallToMcpCall({ id: '1', type: 'function', function: { name: 'gh-search', arguments: '{"q":"mcp"}' } });
let refused = false;
try { openAiToolCallToMcpCall({ function: { name: 'x', arguments: '[1]' } }); } catch (e) { refused = e instanceof InvalidToolArgumentsError; }
console.log(JSON.stringify({ tool, call, refused }));
`,
    );
    const out = JSON.parse(execFileSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8' }));
    expect(out).toEqual({
      tool: {
        type: 'function',
        function: {
          name: 'gh-search',
          description: '',
          parameters: { type: 'object', properties: {}, additionalProperties: false },
          strict: false,
        },
      },
      call: { name: 'gh-search', arguments: { q: 'mcp' } },
      refused: true,
    });
  });
});
