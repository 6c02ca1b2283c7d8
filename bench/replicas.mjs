// Scenario 7 of `npm run bench` (`--only replicas`): two gateway replicas on one Postgres (and Redis when one
// answers), what sharing costs. Propagation: a server added or a key blocked on replica A, until replica B lists
// the server or refuses the key (polled as fast as B answers). Failover: a session opened and used on A, then
// its first call on B (B continues it from the session store and opens its upstream session), then B's next
// call; the steady call on A beside them. Requests go straight to each replica: a balancer in front would add
// the same hop to every row.
import net from 'node:net';
import pg from 'pg';
import { GATEWAY_ENV, gatewayArgs } from './gateway.mjs';

const REDIS = { host: '127.0.0.1', port: 6379 };

/** Whether something listens on host:port (Redis is optional for this scenario). */
function reachable({ host, port }) {
  return new Promise((resolve) => {
    const socket = net.connect(port, host, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

const percentile = (values, p) => {
  const v = [...values].sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.floor((v.length * p) / 100))] : null;
};

/** Polls `probe` back to back until it holds (or 5 s): the time it took, in ms. */
async function until(probe, since) {
  while (!(await probe())) if (performance.now() - since > 5000) throw new Error('not propagated within 5 s');
  return performance.now() - since;
}

/**
 * Runs the scenario: `start(command, args, {env})` and `waitFor(child, pattern, what)` are run.mjs's, so the
 * processes are stopped with the others. Returns one row per session store.
 */
export async function replicasScenario({ root, start, waitFor, config, masterKey, echoUrl, samples }) {
  const serverUrl =
    process.env.BENCH_POSTGRES_URL ??
    process.env.DATABASE_URL ??
    'postgres://postgres@127.0.0.1:5432/postgres';
  const admin = new pg.Client({ connectionString: serverUrl });
  try {
    await admin.connect();
  } catch (error) {
    console.error(`scenario 7 skipped: no Postgres at ${new URL(serverUrl).host} (${error.message})`);
    return null;
  }
  const auth = { Authorization: `Bearer ${masterKey}`, 'Content-Type': 'application/json' };
  const stores = ['postgres', ...((await reachable(REDIS)) ? ['redis'] : [])];
  const rows = [];
  try {
    for (const store of stores) {
      const name = `bench_replicas_${Date.now()}`;
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      const children = [];
      try {
        const replica = async () => {
          const child = start(process.execPath, gatewayArgs(root, config), {
            env: {
              ...GATEWAY_ENV,
              DATABASE_URL: url.toString(),
              ...(store === 'redis'
                ? { REDIS_URL: `redis://${REDIS.host}:${REDIS.port}/8` }
                : { REDIS_URL: '' }),
            },
          });
          children.push(child);
          const port = Number(await waitFor(child, /"port":(\d+)/, `replica ${children.length}`));
          child.stdout.resume();
          child.stderr.resume();
          return `http://127.0.0.1:${port}`;
        };
        const a = await replica(); // migrates the database
        const b = await replica();
        const post = (base, route, body, headers = auth) =>
          fetch(`${base}${route}`, { method: 'POST', headers, body: JSON.stringify(body) });
        const listed = async (base, server) =>
          (await (await fetch(`${base}/v1/mcp/server`, { headers: auth })).text()).includes(`"${server}"`);
        await post(a, '/v1/mcp/server', { server_name: 'echo', url: echoUrl });
        await until(() => listed(b, 'echo'), performance.now());

        // Propagation of a server write and of a key block.
        const serverLag = [];
        const keyLag = [];
        for (let i = 0; i < samples; i++) {
          const server = `prop_${i}`;
          const t0 = performance.now();
          const added = await post(a, '/v1/mcp/server', { server_name: server, url: echoUrl });
          if (!added.ok) throw new Error(`adding a server: ${added.status} ${await added.text()}`);
          serverLag.push(await until(() => listed(b, server), t0));
          const key = (await (await post(a, '/key/generate', { key_alias: `prop_${i}` })).json()).key;
          const asKey = { Authorization: `Bearer ${key}` };
          if (!(await fetch(`${b}/key/info`, { headers: asKey })).ok)
            throw new Error('new key refused on replica b');
          const t1 = performance.now();
          await post(a, '/key/block', { key: `prop_${i}` });
          keyLag.push(
            await until(async () => (await fetch(`${b}/key/info`, { headers: asKey })).status === 403, t1),
          );
        }

        // Failover: the first call of a session on the other replica, then its next one.
        const mcp = (base, body, session) =>
          fetch(`${base}/mcp`, {
            method: 'POST',
            headers: {
              ...auth,
              Accept: 'application/json, text/event-stream',
              ...(session ? { 'Mcp-Session-Id': session, 'Mcp-Protocol-Version': '2025-11-25' } : {}),
            },
            body: JSON.stringify(body),
          });
        const call = async (base, session, id) => {
          const t = performance.now();
          const res = await mcp(
            base,
            {
              jsonrpc: '2.0',
              id,
              method: 'tools/call',
              params: { name: 'echo-echo', arguments: { message: 'x' } },
            },
            session,
          );
          const text = await res.text();
          if (!res.ok || !text.includes('"result"'))
            throw new Error(`call on ${base}: ${res.status} ${text.slice(0, 200)}`);
          return performance.now() - t;
        };
        const steadyA = [];
        const firstB = [];
        const nextB = [];
        for (let i = 0; i < samples; i++) {
          const opened = await mcp(a, {
            jsonrpc: '2.0',
            id: 0,
            method: 'initialize',
            params: {
              protocolVersion: '2025-11-25',
              capabilities: {},
              clientInfo: { name: 'bench', version: '1' },
            },
          });
          const session = opened.headers.get('mcp-session-id');
          await opened.text();
          await call(a, session, 1);
          steadyA.push(await call(a, session, 2));
          firstB.push(await call(b, session, 3));
          nextB.push(await call(b, session, 4));
        }
        const p = (values) => ({ p50: percentile(values, 50), p95: percentile(values, 95) });
        rows.push({
          store,
          samples,
          server_propagation_ms: p(serverLag),
          key_block_propagation_ms: p(keyLag),
          call_on_opening_replica_ms: p(steadyA),
          first_call_on_other_replica_ms: p(firstB),
          next_call_on_other_replica_ms: p(nextB),
          errors: 0,
        });
      } finally {
        for (const child of children) child.kill('SIGTERM');
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }
    }
  } finally {
    await admin.end();
  }
  return rows;
}
