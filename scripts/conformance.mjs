// `npm run conformance`: runs the MCP conformance suite's server scenarios for both protocol revisions
// (`--requirements 2025-11-25` and `--requirements 2026-07-28`, the suite's frozen requirement sets) against the
// dual-era conformance fixture on SDK v2 directly, and behind the gateway's single-server endpoint
// `/{alias}/mcp` with each upstream transport (stdio in per_client mode and Streamable HTTP: the SDK v2 fixture;
// SSE, which SDK v2 does not serve: the SDK v1 fixture), plus the aggregated `/mcp` for information. The gateway
// talks 2025-11-25 to its upstreams either way. Prints a scenario x target table per revision. Exits 1 when the
// fixture fails a scenario directly; for 2025-11-25, when the gateway fails a scenario the fixture passes
// directly; for 2026-07-28, when the gateway fails a scenario that is not in
// scripts/conformance-expected-failures.json, or passes one that is on every transport (the list may only shrink).
// Then the client leg: each revision's client scenarios (`conformance client`, the suite's scenario servers) with
// scripts/conformance-client-driver.mjs as the client: through the gateway (the driver registers the scenario's
// server on it and drives it from downstream), and the driver's SDK client on its own for comparison; the
// gateway may fail only the client scenarios listed under "client" in the expected-failures file.
// `--markdown FILE` also writes the tables (with versions and date) to FILE; `--keep` keeps the suite's
// detailed results (checks.json per scenario) and prints where.
//
// The suite has no option to send headers, and the gateway needs a key: each gateway target is reached
// through a few-line loopback proxy that adds `Authorization: Bearer <virtual key>` and changes nothing else
// (Host and Origin pass through, so DNS-rebinding protection is judged on the gateway itself).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
/** The dual-era fixture (SDK v2), and the 2025 one (SDK v1) for the SSE transport SDK v2 does not serve. */
const fixture = path.join(root, 'test/fixtures/conformance-server-v2.mjs');
const sseFixture = path.join(root, 'test/fixtures/conformance-server.mjs');
/** The client under test for the client scenarios: the gateway, driven from downstream. */
const driver = path.join(root, 'scripts/conformance-client-driver.mjs');
/**
 * The suite needs Node 22 or newer (it uses fs.globSync). The project's own floor is 22.15, so this is normally
 * the Node running this script; on an older one, a Node 22 is fetched portably (the `node` package installs
 * the binary for this platform) rather than shipped as a platform-specific dependency.
 */
function suiteNode() {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  console.error(`Node ${process.version} is older than the suite needs: using node@22 from npx`);
  return execFileSync('npx', ['-y', '-p', 'node@22', 'node', '-p', 'process.execPath'], {
    encoding: 'utf8',
  }).trim();
}
const node22 = suiteNode();
const suiteCli = path.join(root, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const markdownOut = process.argv.includes('--markdown')
  ? process.argv[process.argv.indexOf('--markdown') + 1]
  : null;
const work = mkdtempSync(path.join(tmpdir(), 'conformance-'));
const children = [];
const servers = [];
const MASTER_KEY = 'sk-conformance-master-key';

function start(command, args, env = {}) {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

/** Resolves with the first stdout line matching `pattern` (its first group). */
function waitFor(child, pattern, what, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    child.stdout.on('data', (chunk) => {
      buffer += chunk.toString();
      const match = pattern.exec(buffer);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
  });
}

async function startFixture(transport) {
  const file = transport === 'sse' ? sseFixture : fixture;
  const child = start(process.execPath, [file, '--transport', transport, '--port', '0']);
  return waitFor(child, /listening (\S+)/, `the ${transport} fixture`);
}

/** Adds the key to every request, streams both ways, changes nothing else. */
async function startKeyProxy(targetPort, key) {
  const server = createServer((req, res) => {
    const upstream = httpRequest(
      {
        host: '127.0.0.1',
        port: targetPort,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, authorization: `Bearer ${key}` },
      },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return server.address().port;
}

/**
 * Whether an expected failure covers a target: an entry is the reason (any gateway target), or
 * `{ "targets": [labels], "why": reason }` (those targets only).
 */
function allowedOn(entry, label) {
  if (entry === undefined) return false;
  return typeof entry === 'string' || entry.targets.includes(label);
}

/** The server scenarios a revision requires (the suite's frozen list). */
function requiredScenarios(revision) {
  const out = execFileSync(node22, [suiteCli, 'list', '--server', '--requirements', revision], {
    encoding: 'utf8',
  });
  const server = out.split(/Client scenarios/)[0];
  return [...server.matchAll(/^\s+- ([\w-]+)\s*$/gm)].map((m) => m[1]);
}

/** The client scenarios a revision requires and scores (the suite's frozen list). */
function requiredClientScenarios(revision) {
  const out = execFileSync(node22, [suiteCli, 'list', '--client', '--requirements', revision], {
    encoding: 'utf8',
  });
  const client = out.split(/Client scenarios[^\n]*\n/)[1]?.split(/Run and reported/)[0] ?? '';
  return [...client.matchAll(/^\s+- ([\w/-]+)\s*$/gm)].map((m) => m[1]);
}

/** Suite output lines `✓ name: N passed, M failed` as scenario → 'pass' | 'fail'. */
function parseResults(out) {
  const results = {};
  for (const line of out.split('\n')) {
    const match = /^([✓✗])\s+([\w/-]+): (\d+) passed, (\d+) failed/.exec(line.trim());
    if (match) results[match[2]] = match[1] === '✓' && match[4] === '0' ? 'pass' : 'fail';
  }
  return results;
}

/**
 * Runs one client scenario with the driver (scripts/conformance-client-driver.mjs) as the client: through the
 * gateway, or (`DIRECT=1`) the same SDK client on its own. Resolves 'pass' | 'fail'.
 */
function runClientScenario(scenario, revision, env) {
  return new Promise((resolve) => {
    const child = start(
      node22,
      [
        suiteCli,
        'client',
        '--command',
        `${JSON.stringify(node22)} ${JSON.stringify(driver)}`,
        '--scenario',
        scenario,
        '--spec-version',
        revision,
        '-o',
        path.join(work, `client-${revision}-${env.DIRECT ? 'direct' : 'gateway'}`),
      ],
      env,
    );
    let out = '';
    child.stdout.on('data', (c) => (out += c.toString()));
    child.stderr.on('data', (c) => (out += c.toString()));
    child.on('exit', () => {
      const summary = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(out);
      const result = summary ? (summary[3] === '0' ? 'pass' : 'fail') : undefined;
      if (!result)
        console.error(`no result from the suite for client scenario ${scenario}:\n${out.slice(-1500)}`);
      resolve(result ?? 'fail');
    });
  });
}

/** Runs a revision's scenarios against a URL; returns scenario → 'pass' | 'fail'. */
function runSuite(url, label, revision) {
  return new Promise((resolve) => {
    const child = start(node22, [
      suiteCli,
      'server',
      '--url',
      url,
      '--requirements',
      revision,
      '-o',
      path.join(work, `${revision}-${label}`),
    ]);
    let out = '';
    child.stdout.on('data', (c) => (out += c.toString()));
    child.stderr.on('data', (c) => (out += c.toString()));
    child.on('exit', () => {
      const results = parseResults(out);
      if (Object.keys(results).length === 0)
        console.error(`no results from the suite for ${label}:\n${out.slice(-2000)}`);
      resolve(results);
    });
  });
}

async function main() {
  const [direct, httpUpstream, sseUpstream] = await Promise.all([
    startFixture('http'),
    startFixture('http'),
    startFixture('sse'),
  ]);
  const config = path.join(work, 'config.yaml');
  writeFileSync(
    config,
    `mcp_servers:
  cf_stdio:
    transport: stdio
    command: node
    args: [${JSON.stringify(fixture)}, --transport, stdio]
    session_mode: per_client
  cf_http:
    url: ${httpUpstream}
  cf_sse:
    url: ${sseUpstream}
    transport: sse
general_settings:
  master_key: ${MASTER_KEY}
`,
  );
  const gateway = start(
    process.execPath,
    [
      path.join(root, 'dist/apps/gateway/src/main.js'),
      '--config',
      config,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
    ],
    {
      EMBEDDED_DB_DIR: 'memory://',
      LOG_LEVEL: 'info',
      DATABASE_URL: '',
      NODE_ENV: 'production',
    },
  );
  const port = Number(await waitFor(gateway, /"port":(\d+)/, 'the gateway'));
  // One key per target: the suite never ends its sessions (no DELETE), and each key may hold
  // max_sessions_per_key (100) live sessions, which ~35 per run stays under.
  const via = async (label, p) => {
    const keyRes = await fetch(`http://127.0.0.1:${port}/key/generate`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${MASTER_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        key_alias: `conformance-${label}`,
        object_permission: { mcp_servers: ['cf_stdio', 'cf_http', 'cf_sse'] },
      }),
    });
    if (!keyRes.ok) throw new Error(`could not create a key: ${keyRes.status} ${await keyRes.text()}`);
    const { key } = await keyRes.json();
    return `http://127.0.0.1:${await startKeyProxy(port, key)}${p}`;
  };

  const gatewayTargets = [
    ['gateway stdio', await via('stdio', '/cf_stdio/mcp'), true],
    ['gateway http', await via('http', '/cf_http/mcp'), true],
    ['gateway sse', await via('sse', '/cf_sse/mcp'), true],
    ['aggregated /mcp', await via('aggregated', '/mcp'), false],
  ];
  const expected = JSON.parse(
    readFileSync(path.join(root, 'scripts/conformance-expected-failures.json'), 'utf8'),
  );
  const problems = [];
  const tables = [];
  for (const revision of ['2025-11-25', '2026-07-28']) {
    const targets = [['direct', direct, false], ...gatewayTargets];
    const scenarios = requiredScenarios(revision);
    // No scenario at all means the suite did not run (wrong Node, missing package): never a pass.
    if (scenarios.length === 0) throw new Error(`the suite lists no server scenario for ${revision}`);
    const results = {};
    for (const [label, url] of targets) {
      console.error(`running the ${revision} scenarios against ${label} (${url})`);
      results[label] = await runSuite(url, label.replace(/\W+/g, '-'), revision);
      if (Object.keys(results[label]).length === 0)
        throw new Error(`the suite ran no scenario against ${label} for ${revision}: see its output above`);
    }
    const mark = (r) => (r === 'pass' ? '✓' : r === 'fail' ? '✗' : '–');
    const header = ['scenario', ...targets.map(([label]) => label)];
    const rows = scenarios.map((s) => [s, ...targets.map(([label]) => mark(results[label][s]))]);
    const totals = [
      '**passed**',
      ...targets.map(
        ([label]) => `${scenarios.filter((s) => results[label][s] === 'pass').length}/${scenarios.length}`,
      ),
    ];
    const table = [header, header.map(() => '---'), ...rows, totals]
      .map((r) => `| ${r.join(' | ')} |`)
      .join('\n');
    console.log(`\n### ${revision}\n\n${table}`);
    tables.push(`### \`--requirements ${revision}\`\n\n${table}`);

    const allowed = expected[revision] ?? {};
    for (const s of scenarios)
      if (results.direct[s] !== 'pass') problems.push(`${revision} direct: the fixture itself fails ${s}`);
    for (const [label, , gated] of targets) {
      if (!gated) continue;
      for (const s of scenarios) {
        const failed = results[label][s] !== 'pass';
        if (revision === '2025-11-25') {
          if (failed) problems.push(`${revision} ${label}: ${s} fails`);
        } else if (failed && !allowedOn(allowed[s], label))
          problems.push(
            `${revision} ${label}: ${s} fails (not in conformance-expected-failures.json for this target)`,
          );
      }
    }
    for (const s of Object.keys(allowed))
      if (
        targets
          .filter(([label, , gated]) => gated && allowedOn(allowed[s], label))
          .every(([label]) => results[label][s] === 'pass')
      )
        problems.push(
          `${revision}: ${s} passes now on every upstream transport: remove it from conformance-expected-failures.json`,
        );
  }

  // The client leg: the gateway as the MCP client of each scenario's server (registered through the admin API,
  // driven from downstream), beside the plain SDK client the driver uses (on its own, DIRECT=1).
  const gatewayUrl = `http://127.0.0.1:${port}`;
  for (const revision of ['2025-11-25', '2026-07-28']) {
    const scenarios = requiredClientScenarios(revision);
    console.error(
      `running the ${revision} client scenarios (${scenarios.length}), plain and through the gateway`,
    );
    const plain = {};
    const through = {};
    for (const s of scenarios) {
      plain[s] = await runClientScenario(s, revision, { DIRECT: '1' });
      through[s] = await runClientScenario(s, revision, { GATEWAY_URL: gatewayUrl, GATEWAY_KEY: MASTER_KEY });
    }
    const mark = (r) => (r === 'pass' ? '✓' : '✗');
    const count = (r) => `${scenarios.filter((s) => r[s] === 'pass').length}/${scenarios.length}`;
    const rows = [
      ['scenario', 'plain SDK client', 'gateway'],
      ['---', '---', '---'],
      ...scenarios.map((s) => [s, mark(plain[s]), mark(through[s])]),
      ['**passed**', count(plain), count(through)],
    ];
    const table = rows.map((r) => `| ${r.join(' | ')} |`).join('\n');
    console.log(`\n### client ${revision}\n\n${table}`);
    tables.push(`### Client scenarios, \`--requirements ${revision}\`\n\n${table}`);
    const allowed = expected.client?.[revision] ?? {};
    for (const s of scenarios)
      if (through[s] !== 'pass' && !(s in allowed))
        problems.push(
          `client ${revision}: the gateway fails ${s} (not in conformance-expected-failures.json)`,
        );
    for (const s of Object.keys(allowed))
      if (through[s] === 'pass')
        problems.push(
          `client ${revision}: ${s} passes now: remove it from conformance-expected-failures.json`,
        );
  }

  if (markdownOut) {
    const version = (name) =>
      JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
    writeFileSync(
      markdownOut,
      `<!-- written by npm run conformance -- --markdown ${path.relative(root, markdownOut)} -->\n` +
        `Suite \`@modelcontextprotocol/conformance@${version('@modelcontextprotocol/conformance')}\` (server scenarios of each ` +
        `requirement set), SDK ${version('@modelcontextprotocol/sdk')} (the gateway's client of 2025 upstreams, the SSE fixture) and ` +
        `${version('@modelcontextprotocol/server')} (the gateway's MCP endpoint for both revisions, its client of 2026-07-28 upstreams and its upstream OAuth, the dual-era fixture), run on ${new Date().toISOString().slice(0, 10)}.\n\n` +
        `${tables.join('\n\n')}\n`,
    );
  }
  if (problems.length) {
    console.error(`\nconformance problems:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else {
    console.error(
      '\nthe fixture passes every scenario of both revisions directly; 2025-11-25: so does the gateway, on every upstream transport; 2026-07-28: the gateway fails only the expected failures',
    );
  }
}

try {
  await main();
} catch (error) {
  console.error(`conformance run failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  for (const child of children) child.kill('SIGTERM');
  for (const server of servers) server.close();
  if (process.argv.includes('--keep')) console.error(`results kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
