import { setTimeout as sleep } from 'node:timers/promises';
import { ModulesContainer } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import { ACCESS, IS_PUBLIC, KeyAuthenticator } from '@app/auth';
import { type GatewayDataSource } from '@app/database';
import { createTestApp, provisionTestDatabase, type TestApp, type TestDatabase } from '@app/testing';
import { GatewayModule } from '../apps/gateway/src/gateway.module.js';

const MASTER_KEY = 'sk-master-e2e-auth';

/** Three upstream servers (never dialled here): alpha and beta in group eng, gamma in group ops. */
const CONFIG = `
mcp_servers:
  alpha:
    url: http://127.0.0.1:9/alpha/mcp
    mcp_access_groups: [eng]
  beta:
    url: http://127.0.0.1:9/beta/mcp
    mcp_access_groups: [eng]
  gamma:
    url: http://127.0.0.1:9/gamma/mcp
    mcp_access_groups: [ops]
`;

describe('virtual keys, teams and team-scoped access (e2e)', () => {
  let db: TestDatabase;
  let t: TestApp;
  /** Every key the gateway issued: none may appear in logs or in any response but its own issuing one. */
  const issued: string[] = [];
  /** Bodies of every response except those that issue a key. */
  const bodies: string[] = [];
  const api = () => request(t.url);
  const as = (key: string) => ({ Authorization: `Bearer ${key}` });
  const master = as(MASTER_KEY);
  const seen = (res: request.Response) => {
    bodies.push(res.text);
    return res;
  };

  async function generate(body: Record<string, unknown>, key = MASTER_KEY): Promise<string> {
    const res = await api().post('/key/generate').set(as(key)).send(body).expect(200);
    issued.push(res.body.key);
    return res.body.key as string;
  }
  const serverNames = async (key: string) => {
    const res = seen(await api().get('/v1/mcp/server').set(as(key)).expect(200));
    return (res.body as { server_name: string }[]).map((s) => s.server_name).sort();
  };

  let a1: string;
  let a2: string;
  let b1: string;
  let viewer: string;

  beforeAll(async () => {
    db = await provisionTestDatabase();
    t = await createTestApp({
      rootModule: GatewayModule.forRoot,
      database: db.database,
      env: { MASTER_KEY },
      configYaml: CONFIG,
    });
    seen(
      await api()
        .post('/team/new')
        .set(master)
        .send({
          team_id: 'team-a',
          team_alias: 'Team A',
          object_permission: { mcp_servers: ['alpha', 'beta'] },
        })
        .expect(200),
    );
    seen(
      await api()
        .post('/team/new')
        .set(master)
        .send({ team_id: 'team-b', object_permission: { mcp_access_groups: ['ops'] } })
        .expect(200),
    );
    a1 = await generate({ key_alias: 'a1', team_id: 'team-a' });
    a2 = await generate({ key_alias: 'a2', team_id: 'team-a', object_permission: { mcp_servers: ['beta'] } });
    b1 = await generate({ key_alias: 'b1', team_id: 'team-b' });
    viewer = await generate({ key_alias: 'viewer', role: 'proxy_admin_viewer' });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  describe('key generation', () => {
    it('returns the key once: sk- and 43 url-safe characters, with its masked name and hash', async () => {
      const res = await api().post('/key/generate').set(master).send({ key_alias: 'shape' }).expect(200);
      issued.push(res.body.key);
      expect(res.body.key).toMatch(/^sk-[A-Za-z0-9_-]{43}$/);
      expect(res.body).toMatchObject({
        key_alias: 'shape',
        key_name: `sk-...${(res.body.key as string).slice(-4)}`,
        role: 'internal_user',
        team_id: null,
        expires: null,
        blocked: false,
        object_permission: { mcp_servers: null, mcp_access_groups: null, mcp_tool_permissions: null },
      });
      expect(res.body.token).toMatch(/^[0-9a-f]{64}$/);
    });

    it('stores only the hash', async () => {
      const ds = t.app.get<GatewayDataSource>(getDataSourceToken());
      const rows: Record<string, unknown>[] = await ds.query('SELECT * FROM virtual_key');
      const stored = JSON.stringify(rows);
      for (const key of issued) expect(stored).not.toContain(key.slice(3));
    });

    it('sets an expiry from a duration', async () => {
      const before = Date.now();
      const res = await api().post('/key/generate').set(master).send({ duration: '12h' }).expect(200);
      issued.push(res.body.key);
      const expires = Date.parse(res.body.expires);
      expect(expires - before).toBeGreaterThanOrEqual(12 * 3_600_000 - 1000);
      expect(expires - before).toBeLessThanOrEqual(12 * 3_600_000 + 5000);
    });

    it.each([
      [{ duration: '30x' }, 'duration'],
      [{ role: 'root' }, 'role'],
      [{ key_alias: 'has space' }, 'key_alias'],
      [{ object_permission: { mcp_servers: 'alpha' } }, 'object_permission.mcp_servers'],
      [
        { object_permission: { mcp_tool_permissions: { alpha: 'x' } } },
        'object_permission.mcp_tool_permissions',
      ],
      [{ object_permission: { unknown_field: 1 } }, 'object_permission.unknown_field'],
    ])('refuses a bad field (400 naming it): %j', async (body, field) => {
      const res = seen(await api().post('/key/generate').set(master).send(body).expect(400));
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.message).toContain(field);
    });

    it('refuses a grant of an unknown server (400 listing the known ones)', async () => {
      const res = seen(
        await api()
          .post('/key/generate')
          .set(master)
          .send({ object_permission: { mcp_servers: ['alpah'] } })
          .expect(400),
      );
      expect(res.body.error.code).toBe('INVALID_GRANT');
      expect(res.body.error.message).toContain('"alpah"');
      expect(res.body.error.message).toContain('alpha, beta, gamma');
    });

    it('refuses an unknown team (400)', async () => {
      const res = seen(await api().post('/key/generate').set(master).send({ team_id: 'nope' }).expect(400));
      expect(res.body.error.message).toContain('/team/new');
    });

    it('refuses a duplicate key_alias (409)', async () => {
      const res = seen(await api().post('/key/generate').set(master).send({ key_alias: 'a1' }).expect(409));
      expect(res.body.error.code).toBe('KEY_ALIAS_CONFLICT');
    });
  });

  describe('team-scoped access', () => {
    it('a key of team A without a list sees team A servers', async () => {
      expect(await serverNames(a1)).toEqual(['alpha', 'beta']);
    });

    it('a key of team A limited to one server sees that one', async () => {
      expect(await serverNames(a2)).toEqual(['beta']);
    });

    it('a key of team B sees team B servers (through its access group)', async () => {
      expect(await serverNames(b1)).toEqual(['gamma']);
    });

    it('the master key and a viewer see every server', async () => {
      expect(await serverNames(MASTER_KEY)).toEqual(['alpha', 'beta', 'gamma']);
      expect(await serverNames(viewer)).toEqual(['alpha', 'beta', 'gamma']);
    });

    it('a key without team or grants sees nothing (deny by default)', async () => {
      const lonely = await generate({});
      expect(await serverNames(lonely)).toEqual([]);
    });

    it('hides connection details from non-admin keys', async () => {
      const res = seen(await api().get('/v1/mcp/server').set(as(a1)).expect(200));
      for (const server of res.body) {
        for (const field of ['url', 'command', 'args', 'extra_headers', 'static_header_names', 'env_names'])
          expect(server).not.toHaveProperty(field);
      }
      const full = seen(await api().get('/v1/mcp/server').set(as(viewer)).expect(200));
      expect(full.body[0].url).toContain('http://127.0.0.1:9/');
    });

    it('answers 404, not 403, for a server the key may not use, exactly as for a missing one', async () => {
      const hidden = seen(await api().get('/v1/mcp/server/gamma').set(as(a1)).expect(404));
      const missing = seen(await api().get('/v1/mcp/server/nonexistent').set(as(a1)).expect(404));
      expect(hidden.body.error.code).toBe(missing.body.error.code);
      expect(hidden.body.error.message.replace('gamma', 'X')).toBe(
        missing.body.error.message.replace('nonexistent', 'X'),
      );
      const visible = seen(await api().get('/v1/mcp/server/alpha').set(as(a1)).expect(200));
      expect(visible.body).toMatchObject({ server_name: 'alpha', status: 'unhealthy' });
      expect(visible.body).not.toHaveProperty('url');
      expect(visible.body).not.toHaveProperty('health_check_error');
      seen(await api().get('/v1/mcp/server/health?server_ids=gamma').set(as(a1)).expect(404));
    });

    it('scopes access groups', async () => {
      const res = seen(await api().get('/v1/mcp/access_groups').set(as(b1)).expect(200));
      expect(res.body).toEqual({ access_groups: ['ops'] });
      const all = seen(await api().get('/v1/mcp/access_groups').set(master).expect(200));
      expect(all.body).toEqual({ access_groups: ['eng', 'ops'] });
    });

    it('refuses, at creation, a key granting itself a server of another team (400 naming it)', async () => {
      const res = seen(
        await api()
          .post('/key/generate')
          .set(master)
          .send({ team_id: 'team-a', object_permission: { mcp_servers: ['beta', 'gamma'] } })
          .expect(400),
      );
      expect(res.body.error.code).toBe('GRANT_OUTSIDE_TEAM');
      expect(res.body.error.message).toContain('MCP server "gamma"');
      expect(res.body.error.message).toContain('team "team-a"');
    });

    it('refuses the same on update, and through an access group', async () => {
      const byServer = seen(
        await api()
          .post('/key/update')
          .set(master)
          .send({ key: 'a2', object_permission: { mcp_servers: ['gamma'] } })
          .expect(400),
      );
      expect(byServer.body.error.code).toBe('GRANT_OUTSIDE_TEAM');
      const byGroup = seen(
        await api()
          .post('/key/update')
          .set(master)
          .send({ key: 'a2', object_permission: { mcp_access_groups: ['ops'] } })
          .expect(400),
      );
      expect(byGroup.body.error.message).toContain('access group "ops"');
      expect(await serverNames(a2)).toEqual(['beta']);
    });

    it('narrows a key by update, effective at once', async () => {
      const a3 = await generate({ team_id: 'team-a' });
      expect(await serverNames(a3)).toEqual(['alpha', 'beta']);
      seen(
        await api()
          .post('/key/update')
          .set(master)
          .send({ key: a3, object_permission: { mcp_servers: ['alpha'] } })
          .expect(200),
      );
      expect(await serverNames(a3)).toEqual(['alpha']);
    });

    it('hides a server deleted after being granted, and shows it again if it comes back', async () => {
      const created = seen(
        await api()
          .post('/v1/mcp/server')
          .set(master)
          .send({ server_name: 'delta', url: 'http://127.0.0.1:9/x' })
          .expect(201),
      );
      const d1 = await generate({ object_permission: { mcp_servers: ['delta'] } });
      expect(await serverNames(d1)).toEqual(['delta']);
      seen(await api().delete(`/v1/mcp/server/${created.body.server_id}`).set(master).expect(202));
      expect(await serverNames(d1)).toEqual([]);
      seen(
        await api()
          .post('/v1/mcp/server')
          .set(master)
          .send({ server_name: 'delta', url: 'http://127.0.0.1:9/y' })
          .expect(201),
      );
      expect(await serverNames(d1)).toEqual(['delta']);
    });
  });

  describe('roles', () => {
    it('a proxy_admin_viewer key can list but not create or change', async () => {
      seen(await api().get('/key/list').set(as(viewer)).expect(200));
      seen(await api().get('/team/list').set(as(viewer)).expect(200));
      seen(await api().get('/team/info?team_id=team-a').set(as(viewer)).expect(200));
      const denied = seen(await api().post('/key/generate').set(as(viewer)).send({}).expect(403));
      expect(denied.body.error.code).toBe('FORBIDDEN');
      expect(denied.body.error.message).toContain('proxy_admin_viewer, which can read but not change');
      seen(await api().post('/team/new').set(as(viewer)).send({}).expect(403));
      seen(
        await api()
          .post('/v1/mcp/server')
          .set(as(viewer))
          .send({ server_name: 'nope', transport: 'stdio', command: 'node' })
          .expect(403),
      );
    });

    it('an internal_user key can use the gateway but not the admin API', async () => {
      const res = seen(await api().get('/key/list').set(as(a1)).expect(403));
      expect(res.body.error.message).toContain('needs an admin key');
      seen(await api().get('/team/list').set(as(a1)).expect(403));
      seen(
        await api().post('/v1/mcp/server/test').set(as(a1)).send({ url: 'http://127.0.0.1:9/' }).expect(403),
      );
    });

    it('a proxy_admin key is an admin, and records itself as the actor', async () => {
      const admin = await generate({ key_alias: 'ops-admin', role: 'proxy_admin' });
      const res = seen(await api().post('/team/new').set(as(admin)).send({ team_id: 'team-c' }).expect(200));
      expect(res.body.created_by).toBe('ops-admin');
      expect(await serverNames(admin)).toEqual(['alpha', 'beta', 'delta', 'gamma']);
    });

    it('any key can read its own info, but not another key', async () => {
      const own = seen(await api().get('/key/info').set(as(a2)).expect(200));
      expect(own.body.info).toMatchObject({ key_alias: 'a2', team_id: 'team-a' });
      // Another key and a missing one answer alike (issue 15, item 8: no existence oracle).
      const other = seen(await api().get('/key/info?key=a1').set(as(a2)).expect(404));
      const missing = seen(await api().get('/key/info?key=a9').set(as(a2)).expect(404));
      expect(other.body.error.code).toBe(missing.body.error.code);
      expect(other.body.error.message.replace('a1', 'a9')).toBe(missing.body.error.message);
      const keyShaped = seen(await api().get('/key/info?key=%20sk-abcdef0123456789').set(as(a2)).expect(404));
      expect(keyShaped.text).not.toContain('sk-abcdef0123456789');
      const byAdmin = seen(await api().get('/key/info?key=a1').set(master).expect(200));
      expect(byAdmin.body.info.key_alias).toBe('a1');
    });
  });

  describe('refused keys', () => {
    it('an expired key gets 401 saying it expired', async () => {
      const short = await generate({ duration: '1s' });
      seen(await api().get('/v1/mcp/server').set(as(short)).expect(200)); // now cached
      // Expiry is checked on every request, cached or not: poll until it passes (bounded), never a fixed sleep.
      const deadline = Date.now() + 5000;
      let res = await api().get('/v1/mcp/server').set(as(short));
      while (res.status === 200 && Date.now() < deadline) {
        await sleep(50);
        res = await api().get('/v1/mcp/server').set(as(short));
      }
      seen(res);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('KEY_EXPIRED');
      expect(res.body.error.message).toMatch(/^API key sk-\.\.\.\S{4} expired at \d{4}-/);
    });

    it('a blocked key gets 403 saying it is blocked, and works again once unblocked', async () => {
      const key = await generate({ key_alias: 'blockme' });
      seen(await api().get('/v1/mcp/server').set(as(key)).expect(200));
      seen(await api().post('/key/block').set(master).send({ key: 'blockme' }).expect(200));
      const res = seen(await api().get('/v1/mcp/server').set(as(key)).expect(403));
      expect(res.body.error.code).toBe('KEY_BLOCKED');
      expect(res.body.error.message).toContain('is blocked');
      seen(await api().post('/key/unblock').set(master).send({ key: 'blockme' }).expect(200));
      seen(await api().get('/v1/mcp/server').set(as(key)).expect(200));
    });

    it('a key of a blocked team gets 403 naming the team', async () => {
      const key = await generate({ team_id: 'team-b' });
      seen(await api().get('/v1/mcp/server').set(as(key)).expect(200));
      seen(
        await api().post('/team/update').set(master).send({ team_id: 'team-b', blocked: true }).expect(200),
      );
      const res = seen(await api().get('/v1/mcp/server').set(as(key)).expect(403));
      expect(res.body.error.code).toBe('TEAM_BLOCKED');
      expect(res.body.error.message).toContain('team "team-b"');
      seen(
        await api().post('/team/update').set(master).send({ team_id: 'team-b', blocked: false }).expect(200),
      );
      seen(await api().get('/v1/mcp/server').set(as(key)).expect(200));
    });

    it('regenerate invalidates the old secret immediately and keeps the grants', async () => {
      const old = await generate({
        key_alias: 'rotating',
        team_id: 'team-a',
        object_permission: { mcp_servers: ['alpha'] },
      });
      seen(await api().get('/v1/mcp/server').set(as(old)).expect(200)); // now cached
      const res = await api().post('/key/regenerate').set(master).send({ key: 'rotating' }).expect(200);
      issued.push(res.body.key);
      expect(res.body.key).not.toBe(old);
      expect(res.body).toMatchObject({ key_alias: 'rotating', team_id: 'team-a' });
      seen(await api().get('/v1/mcp/server').set(as(old)).expect(401));
      expect(await serverNames(res.body.key)).toEqual(['alpha']);
      const byPath = await api().post(`/key/${res.body.key}/regenerate`).set(master).expect(200);
      issued.push(byPath.body.key);
      seen(await api().get('/v1/mcp/server').set(as(res.body.key)).expect(401));
      seen(await api().get('/v1/mcp/server').set(as(byPath.body.key)).expect(200));
    });

    it('a deleted key is refused at once', async () => {
      const key = await generate({ key_alias: 'doomed' });
      seen(await api().get('/v1/mcp/server').set(as(key)).expect(200));
      const res = seen(
        await api()
          .post('/key/delete')
          .set(master)
          .send({ key_aliases: ['doomed'] })
          .expect(200),
      );
      expect(res.body.deleted_keys[0].key_alias).toBe('doomed');
      seen(await api().get('/v1/mcp/server').set(as(key)).expect(401));
    });

    it('deleting unknown keys deletes nothing and names them (404)', async () => {
      const res = seen(
        await api()
          .post('/key/delete')
          .set(master)
          .send({ keys: ['a1', 'sk-not-a-real-key-0000'] })
          .expect(404),
      );
      expect(res.body.error.code).toBe('KEY_NOT_FOUND');
      expect(res.body.error.message).toContain('sk-...0000');
      expect(res.body.error.message).not.toContain('sk-not-a-real-key');
      seen(await api().get('/v1/mcp/server').set(as(a1)).expect(200));
    });
  });

  describe('teams', () => {
    it('shows a team with its keys (never the keys themselves)', async () => {
      const res = seen(await api().get('/team/info?team_id=team-a').set(master).expect(200));
      expect(res.body.team_info).toMatchObject({
        team_alias: 'Team A',
        object_permission: { mcp_servers: ['alpha', 'beta'] },
      });
      expect(res.body.keys.map((k: { key_alias: string | null }) => k.key_alias)).toEqual(
        expect.arrayContaining(['a1', 'a2']),
      );
    });

    it('refuses to delete a team that still has keys (409), deleting nothing', async () => {
      const res = seen(
        await api()
          .post('/team/delete')
          .set(master)
          .send({ team_ids: ['team-c', 'team-a'] })
          .expect(409),
      );
      expect(res.body.error.code).toBe('TEAM_HAS_KEYS');
      expect(res.body.error.message).toContain('team "team-a"');
      seen(await api().get('/team/info?team_id=team-c').set(master).expect(200));
    });

    it('deletes a team without keys', async () => {
      const res = seen(
        await api()
          .post('/team/delete')
          .set(master)
          .send({ team_ids: ['team-c'] })
          .expect(200),
      );
      expect(res.body).toEqual({ deleted_teams: ['team-c'] });
      seen(await api().get('/team/info?team_id=team-c').set(master).expect(404));
    });

    it('refuses a duplicate team_id (409) and an unknown server in its grants (400)', async () => {
      seen(await api().post('/team/new').set(master).send({ team_id: 'team-a' }).expect(409));
      const res = seen(
        await api()
          .post('/team/new')
          .set(master)
          .send({ object_permission: { mcp_tool_permissions: { ghost: ['x'] } } })
          .expect(400),
      );
      expect(res.body.error.code).toBe('INVALID_GRANT');
    });

    it('narrowing a team narrows its keys at once', async () => {
      seen(
        await api()
          .post('/team/update')
          .set(master)
          .send({ team_id: 'team-a', object_permission: { mcp_servers: ['alpha'] } })
          .expect(200),
      );
      expect(await serverNames(a1)).toEqual(['alpha']);
      expect(await serverNames(a2)).toEqual([]);
      seen(
        await api()
          .post('/team/update')
          .set(master)
          .send({ team_id: 'team-a', object_permission: { mcp_servers: ['alpha', 'beta'] } })
          .expect(200),
      );
      expect(await serverNames(a2)).toEqual(['beta']);
    });
  });

  describe('hot path', () => {
    it('a warm authenticated GET costs zero database queries; a cold one costs exactly one key lookup', async () => {
      const ds = t.app.get<GatewayDataSource>(getDataSourceToken());
      const queries: string[] = [];
      const stop = ds.onQuery((sql) => {
        if (!/^\s*(UPDATE|COMMIT|BEGIN)/i.test(sql)) queries.push(sql);
      });
      try {
        t.app.get(KeyAuthenticator).cache.clear();
        await api().get('/v1/mcp/server').set(as(a1)).expect(200);
        expect(queries).toHaveLength(1);
        expect(queries[0]).toContain('virtual_key');
        queries.length = 0;
        for (let i = 0; i < 20; i++) await api().get('/v1/mcp/server').set(as(a1)).expect(200);
        await api().get('/v1/mcp/server').set(master).expect(200);
        expect(queries).toEqual([]);
      } finally {
        stop();
      }
    });

    it('records last_used_at, shown at once and written in one batch', async () => {
      const auth = t.app.get(KeyAuthenticator);
      const key = await generate({ key_alias: 'usage' });
      const before = seen(await api().get('/key/info?key=usage').set(master).expect(200));
      expect(before.body.info.last_used_at).toBeNull();
      await api().get('/v1/mcp/server').set(as(key)).expect(200);
      const listed = seen(await api().get('/key/list?key_alias=usage').set(master).expect(200));
      expect(listed.body.keys[0].last_used_at).not.toBeNull();
      await auth.flushLastUsed();
      const ds = t.app.get<GatewayDataSource>(getDataSourceToken());
      const [row] = await ds.query(`SELECT last_used_at FROM virtual_key WHERE key_alias = 'usage'`);
      expect(row.last_used_at).not.toBeNull();
    });

    it('pages key listings', async () => {
      const res = seen(await api().get('/key/list?size=2&page=1').set(master).expect(200));
      expect(res.body.keys).toHaveLength(2);
      expect(res.body.total_count).toBeGreaterThan(5);
      expect(res.body.total_pages).toBe(Math.ceil(res.body.total_count / 2));
      seen(await api().get('/key/list?size=0').set(master).expect(400));
    });
  });

  describe('routes', () => {
    it('every route is public or declares who may call it', () => {
      const undeclared: string[] = [];
      for (const moduleRef of t.app.get(ModulesContainer).values()) {
        for (const wrapper of moduleRef.controllers.values()) {
          const controller = wrapper.metatype as (new () => object) | null;
          if (!controller) continue;
          const proto = controller.prototype as Record<string, unknown>;
          for (const name of Object.getOwnPropertyNames(proto)) {
            const handler = proto[name];
            if (name === 'constructor' || typeof handler !== 'function') continue;
            if (Reflect.getMetadata('method', handler) === undefined) continue;
            const declared = [IS_PUBLIC, ACCESS].some(
              (meta) => Reflect.getMetadata(meta, handler) ?? Reflect.getMetadata(meta, controller),
            );
            if (!declared) undeclared.push(`${controller.name}.${name}`);
          }
        }
      }
      expect(undeclared).toEqual([]);
    });
  });

  describe('secrets', () => {
    it('masks a key sent in a path, in the error and in the access log', async () => {
      const res = seen(await api().get(`/key/${a1}`).set(master).expect(404));
      expect(res.body.error.message).toContain(`/key/sk-...${a1.slice(-4)}`);
    });

    it('no key ever appears in the logs or in a response other than the one that issued it', () => {
      expect(issued.length).toBeGreaterThan(10);
      const everything = t.logs.text() + bodies.join('\n');
      const leaked = issued.filter((key) => everything.includes(key));
      expect(
        leaked.map((key) => everything.slice(everything.indexOf(key) - 300, everything.indexOf(key) + 80)),
      ).toEqual([]);
      expect(everything).not.toContain(MASTER_KEY);
    });
  });
});
