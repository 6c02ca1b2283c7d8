import {
  type AccessSubject,
  accessFor,
  grantOutsideTeam,
  unknownServerRef,
  type PolicyServer,
  resolveAccess,
  toolAllowed,
} from './access-policy.js';

const server = (id: string, over: Partial<PolicyServer> = {}): PolicyServer => ({
  serverId: `id-${id}`,
  serverName: id,
  alias: `${id}_alias`,
  mcpAccessGroups: [],
  allowAllKeys: false,
  allowedTools: null,
  disallowedTools: [],
  ...over,
});

const SERVERS: PolicyServer[] = [
  server('a', { mcpAccessGroups: ['g1'] }),
  server('b', { mcpAccessGroups: ['g1', 'g2'] }),
  server('c', { mcpAccessGroups: ['g2'], allowedTools: ['x', 'y'], disallowedTools: ['z'] }),
  server('pub', { allowAllKeys: true }),
  server('d'),
];

const user = (key: AccessSubject['key'], team: AccessSubject['team'] = null): AccessSubject => ({
  isAdmin: false,
  key,
  team,
});
const admin = (key: AccessSubject['key'] = {}, team: AccessSubject['team'] = null): AccessSubject => ({
  isAdmin: true,
  key,
  team,
});
const names = (subject: AccessSubject, servers = SERVERS) =>
  [...resolveAccess(subject, servers).keys()].map((id) => id.replace('id-', '')).sort();

describe('resolveAccess: which servers', () => {
  it.each<[string, AccessSubject, string[]]>([
    ['admin without a list: every server', admin(), ['a', 'b', 'c', 'd', 'pub']],
    ['admin with a list: that list only', admin({ mcpServers: ['a'] }), ['a']],
    ['admin with an empty list: nothing (explicit)', admin({ mcpServers: [] }), []],
    [
      'admin with a team but no list: every server',
      admin({}, { mcpServers: ['a'] }),
      ['a', 'b', 'c', 'd', 'pub'],
    ],
    ['key without team or grants: only allow_all_keys servers', user({}), ['pub']],
    [
      'key without team, a list: the list plus allow_all_keys',
      user({ mcpServers: ['a', 'd'] }),
      ['a', 'd', 'pub'],
    ],
    ['key without team, an empty list: allow_all_keys only', user({ mcpServers: [] }), ['pub']],
    ['key by server id', user({ mcpServers: ['id-b'] }), ['b', 'pub']],
    ['key by server name, any case', user({ mcpServers: ['B'] }), ['b', 'pub']],
    ['key by alias', user({ mcpServers: ['c_alias'] }), ['c', 'pub']],
    ['key by access group', user({ mcpAccessGroups: ['g2'] }), ['b', 'c', 'pub']],
    [
      'key by server and group: the union',
      user({ mcpServers: ['d'], mcpAccessGroups: ['g1'] }),
      ['a', 'b', 'd', 'pub'],
    ],
    ['key naming a deleted server: ignored', user({ mcpServers: ['gone', 'a'] }), ['a', 'pub']],
    ['key naming an unknown group: nothing from it', user({ mcpAccessGroups: ['nope'] }), ['pub']],
    ['team set, key unset: the team', user({}, { mcpServers: ['a', 'c'] }), ['a', 'c', 'pub']],
    ['team by group, key unset: the team', user({}, { mcpAccessGroups: ['g1'] }), ['a', 'b', 'pub']],
    [
      'team and key set: the intersection',
      user({ mcpServers: ['a', 'd'] }, { mcpServers: ['a', 'b'] }),
      ['a', 'pub'],
    ],
    [
      'team by group, key by name: the intersection',
      user({ mcpServers: ['c', 'd'] }, { mcpAccessGroups: ['g2'] }),
      ['c', 'pub'],
    ],
    [
      'team by name, key by group: the intersection',
      user({ mcpAccessGroups: ['g1'] }, { mcpServers: ['b', 'd'] }),
      ['b', 'pub'],
    ],
    ['team without grants: nothing but allow_all_keys', user({}, {}), ['pub']],
    ['team without grants, key with a list: still nothing', user({ mcpServers: ['a'] }, {}), ['pub']],
    ['team set, key with an empty list: nothing', user({ mcpServers: [] }, { mcpServers: ['a'] }), ['pub']],
  ])('%s', (_, subject, expected) => expect(names(subject)).toEqual(expected));

  it('shows nothing when the registry is empty', () => {
    expect(names(admin(), [])).toEqual([]);
    expect(names(user({ mcpServers: ['a'] }), [])).toEqual([]);
  });
});

describe('resolveAccess: which tools', () => {
  const tools = (subject: AccessSubject, serverName: string, candidates: string[]) => {
    const filter = resolveAccess(subject, SERVERS).get(`id-${serverName}`);
    return filter ? candidates.filter((t) => toolAllowed(filter, t)) : null;
  };
  const all = ['x', 'y', 'z', 'w'];

  it.each<[string, AccessSubject, string, string[] | null]>([
    ['no lists anywhere: every tool', user({ mcpServers: ['a'] }), 'a', all],
    ['key list only', user({ mcpServers: ['a'], mcpToolPermissions: { a: ['x', 'w'] } }), 'a', ['x', 'w']],
    ['team list only', user({}, { mcpServers: ['a'], mcpToolPermissions: { a: ['y'] } }), 'a', ['y']],
    [
      'team and key lists: the intersection',
      user(
        { mcpToolPermissions: { id_a: [], a: ['x', 'y'] } },
        { mcpServers: ['a'], mcpToolPermissions: { a_alias: ['y', 'w'] } },
      ),
      'a',
      ['y'],
    ],
    ['server allowed_tools and disallowed_tools apply', user({ mcpServers: ['c'] }), 'c', ['x', 'y']],
    [
      'key list within server allowed_tools',
      user({ mcpServers: ['c'], mcpToolPermissions: { c: ['y', 'z', 'w'] } }),
      'c',
      ['y'],
    ],
    [
      'tool list keyed by server id',
      user({ mcpServers: ['a'], mcpToolPermissions: { 'id-a': ['w'] } }),
      'a',
      ['w'],
    ],
    ['a server not granted has no tools', user({ mcpServers: ['a'] }), 'b', null],
    ['admin: server disallowed_tools still apply', admin(), 'c', ['x', 'y']],
  ])('%s', (_, subject, serverName, expected) => expect(tools(subject, serverName, all)).toEqual(expected));
});

describe('grantOutsideTeam', () => {
  it.each<
    [string, Parameters<typeof grantOutsideTeam>[0], Parameters<typeof grantOutsideTeam>[1], string | null]
  >([
    ['within the team by name', { mcpServers: ['a'] }, { mcpServers: ['a', 'b'] }, null],
    ['within the team through its group', { mcpServers: ['b_alias'] }, { mcpAccessGroups: ['g1'] }, null],
    ['a server of another team', { mcpServers: ['a', 'd'] }, { mcpServers: ['a'] }, 'd'],
    ['an unknown server', { mcpServers: ['nope'] }, { mcpServers: ['a'] }, 'nope'],
    ['a group the team has', { mcpAccessGroups: ['g1'] }, { mcpAccessGroups: ['g1'] }, null],
    [
      'a group whose servers the team has one by one',
      { mcpAccessGroups: ['g1'] },
      { mcpServers: ['a', 'b'] },
      null,
    ],
    ['a group reaching beyond the team', { mcpAccessGroups: ['g2'] }, { mcpServers: ['b'] }, 'g2'],
    ['anything, for a team without grants', { mcpServers: ['a'] }, {}, 'a'],
    ['nothing asked: fine', {}, {}, null],
    [
      'tool permissions on a team server, team without a tool list',
      { mcpToolPermissions: { a: ['x'] } },
      { mcpServers: ['a'] },
      null,
    ],
    [
      'tool permissions on a server outside the team',
      { mcpToolPermissions: { d: ['x'] } },
      { mcpServers: ['a'] },
      'd',
    ],
    [
      'tools within the team tool list',
      { mcpToolPermissions: { a: ['x'] } },
      { mcpServers: ['a'], mcpToolPermissions: { a_alias: ['x', 'y'] } },
      null,
    ],
    [
      'a tool beyond the team tool list',
      { mcpToolPermissions: { a: ['x', 'w'] } },
      { mcpServers: ['a'], mcpToolPermissions: { a: ['x'] } },
      'a: w',
    ],
  ])('%s', (_, key, team, expected) => {
    const problem = grantOutsideTeam(key, team, SERVERS);
    expect(problem && (problem.tool ? `${problem.ref}: ${problem.tool}` : problem.ref)).toBe(expected);
  });
});

describe('unknownServerRef', () => {
  it.each<[string, Parameters<typeof unknownServerRef>[0], string | null]>([
    ['all known by id, name and alias', { mcpServers: ['id-a', 'B', 'c_alias'] }, null],
    ['an unknown server in the list', { mcpServers: ['a', 'nope'] }, 'nope'],
    ['an unknown server in tool permissions', { mcpToolPermissions: { ghost: ['x'] } }, 'ghost'],
    ['groups are not server references', { mcpAccessGroups: ['anything'] }, null],
  ])('%s', (_, grants, expected) => expect(unknownServerRef(grants, SERVERS)).toBe(expected));
});

describe('accessFor', () => {
  it('reuses the resolution for the same subject and registry version, and redoes it after a change', () => {
    const subject = user({ mcpServers: ['a'] });
    const first = accessFor(subject, { version: 1, servers: SERVERS });
    expect(accessFor(subject, { version: 1, servers: [] })).toBe(first);
    const after = accessFor(subject, { version: 2, servers: SERVERS.filter((s) => s.serverName !== 'a') });
    expect([...after.keys()]).toEqual(['id-pub']);
  });
});

describe("LiteLLM's grant sentinels (issue 14)", () => {
  it.each<[string, AccessSubject, string[]]>([
    [
      'team all-proxy-mcpservers: every server',
      user({}, { mcpServers: ['all-proxy-mcpservers'] }),
      ['a', 'b', 'c', 'd', 'pub'],
    ],
    [
      'key all-team-mcpservers: the team list',
      user({ mcpServers: ['all-team-mcpservers'] }, { mcpServers: ['a', 'b'] }),
      ['a', 'b', 'pub'],
    ],
    [
      'key all-team-mcpservers with names: those, within the team',
      user({ mcpServers: ['all-team-mcpservers', 'a', 'd'] }, { mcpServers: ['a', 'b'] }),
      ['a', 'pub'],
    ],
    [
      'key no-mcp-servers: nothing, not even allow_all_keys',
      user({ mcpServers: ['no-mcp-servers', 'a'] }),
      [],
    ],
    ['admin key no-mcp-servers: nothing', admin({ mcpServers: ['no-mcp-servers'] }), []],
    [
      'key no-mcp-servers in a team that has everything: nothing',
      user({ mcpServers: ['no-mcp-servers'] }, { mcpServers: ['all-proxy-mcpservers'] }),
      [],
    ],
  ])('%s', (_, subject, expected) => expect(names(subject)).toEqual(expected));

  it('are valid grants, and within any team', () => {
    for (const sentinel of ['all-proxy-mcpservers', 'all-team-mcpservers', 'no-mcp-servers']) {
      expect(unknownServerRef({ mcpServers: [sentinel] }, SERVERS)).toBeNull();
      expect(grantOutsideTeam({ mcpServers: [sentinel] }, { mcpServers: ['a'] }, SERVERS)).toBeNull();
    }
  });
});
