import { parseConfigServers } from './config-servers.js';
import {
  applyServerInput,
  effectiveSessionMode,
  checkServerRecord,
  configServerId,
  DEFAULT_STDIO_COMMANDS,
  inferTransport,
  type RegistryPolicy,
  stdioCommandProblem,
} from './mcp-server.rules.js';
import { SecretCipher, SecretDecryptionError } from '@app/core';
import { checkUrlNotPrivate, isPrivateAddress } from './url-safety.js';
import { upstreamHeaders } from './upstream-headers.js';

const policy: RegistryPolicy = {
  stdioCommands: new Set(DEFAULT_STDIO_COMMANDS),
  urlAllowlist: null,
  blockPrivateUrls: false,
  allowStdioFromApi: false,
};
const record = (input: Parameters<typeof applyServerInput>[0]) =>
  applyServerInput(input, null, { serverId: '00000000-0000-4000-8000-000000000000', source: 'db' });

describe('configServerId', () => {
  it('is a stable UUID derived from name, transport and target', () => {
    const id = configServerId('zapier', 'sse', 'https://x/sse');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(configServerId('zapier', 'sse', 'https://x/sse')).toBe(id);
  });
  it('changes when any of the three changes', () => {
    const id = configServerId('zapier', 'sse', 'https://x/sse');
    expect(configServerId('zapier2', 'sse', 'https://x/sse')).not.toBe(id);
    expect(configServerId('zapier', 'http', 'https://x/sse')).not.toBe(id);
    expect(configServerId('zapier', 'sse', 'https://y/sse')).not.toBe(id);
  });
});

describe('inferTransport', () => {
  it.each([
    [{ url: 'http://localhost:8000/sse' }, 'sse'],
    [{ url: 'https://actions.zapier.com/mcp/sk-x/sse/' }, 'sse'],
    [{ url: 'http://localhost:8000/mcp' }, 'http'],
    [{ command: 'npx' }, 'stdio'],
    [{ url: 'http://h/sse', transport: 'http' as const }, 'http'],
  ])('%j -> %s', (input, expected) => expect(inferTransport(input)).toBe(expected));
});

describe('applyServerInput', () => {
  it('defaults the alias to the server name and auth_type to bearer_token when a credential is given', () => {
    const r = record({ server_name: 'gh', url: 'https://h/mcp', auth_value: 't' });
    expect(r).toMatchObject({ alias: 'gh', authType: 'bearer_token', transport: 'http', allowedTools: null });
  });
  it('changes only the fields sent, and clears with null', () => {
    const base = record({
      server_name: 'gh',
      url: 'https://h/mcp',
      description: 'd',
      timeout_ms: 5,
      auth_value: 't',
    });
    const next = applyServerInput(
      { description: null, allowed_tools: ['a'], timeout_ms: undefined },
      base,
      base,
    );
    expect(next).toMatchObject({
      description: null,
      allowedTools: ['a'],
      timeoutMs: 5,
      url: 'https://h/mcp',
    });
    expect(next.secrets.authValue).toBe('t');
  });
  it('keeps, sets and clears session_mode; the effective mode defaults by transport', () => {
    const http = record({ server_name: 'h', url: 'https://h/mcp' });
    expect(effectiveSessionMode(http)).toBe('per_client');
    expect(effectiveSessionMode(record({ server_name: 's', command: 'node' }))).toBe('shared');
    const shared = applyServerInput({ session_mode: 'shared' }, http, http);
    expect(effectiveSessionMode(shared)).toBe('shared');
    expect(applyServerInput({ description: 'x' }, shared, shared).sessionMode).toBe('shared');
    expect(applyServerInput({ session_mode: null }, shared, shared).sessionMode).toBeNull();
  });

  it('lets the alias follow a rename unless it was set explicitly', () => {
    const base = record({ server_name: 'a', url: 'https://h/mcp' });
    expect(applyServerInput({ server_name: 'b' }, base, base).alias).toBe('b');
    const aliased = record({ server_name: 'a', alias: 'x', url: 'https://h/mcp' });
    expect(applyServerInput({ server_name: 'b' }, aliased, aliased).alias).toBe('x');
  });
});

describe('checkServerRecord', () => {
  const problems = (input: Parameters<typeof applyServerInput>[0], p = policy) =>
    checkServerRecord(record(input), p).map((x) => x.param);
  it('accepts well-formed http, sse and stdio servers', () => {
    expect(problems({ server_name: 'a', url: 'https://h/mcp' })).toEqual([]);
    expect(problems({ server_name: 'a', url: 'http://h/sse' })).toEqual([]);
    expect(problems({ server_name: 'a', command: 'npx', args: ['-y', 'x'], env: { T: '1' } })).toEqual([]);
  });
  it('requires a url for http/sse and a command for stdio, and no mixing', () => {
    expect(problems({ server_name: 'a', transport: 'http' })).toEqual(['url']);
    expect(problems({ server_name: 'a', transport: 'stdio' })).toEqual(['command']);
    expect(problems({ server_name: 'a', transport: 'stdio', command: 'node', url: 'http://h' })).toEqual([
      'url',
    ]);
    expect(problems({ server_name: 'a', url: 'http://h', command: 'node' })).toEqual(['url']);
    expect(problems({ server_name: 'a', transport: 'http', url: 'http://h', command: 'node' })).toEqual([
      'command',
    ]);
    expect(problems({ server_name: 'a', url: 'http://h', env: { A: 'b' } })).toEqual(['env']);
  });
  it('allows only allowlisted stdio commands: bare names, or paths listed exactly (issue 14)', () => {
    expect(problems({ server_name: 'a', command: 'node' })).toEqual([]);
    expect(problems({ server_name: 'a', command: 'bash' })).toEqual(['command']);
    // A path is not its base name: /opt/evil/node is not node.
    expect(problems({ server_name: 'a', command: '/opt/evil/node' })).toEqual(['command']);
    expect(problems({ server_name: 'a', command: '/usr/bin/node' })).toEqual(['command']);
    expect(problems({ server_name: 'a', command: './node' })).toEqual(['command']);
    expect(stdioCommandProblem('/opt/evil/node', policy)).toContain('is a path');
    const extended = {
      ...policy,
      stdioCommands: new Set([...policy.stdioCommands, 'bash', '/usr/local/bin/node']),
    };
    expect(problems({ server_name: 'a', command: 'bash' }, extended)).toEqual([]);
    expect(problems({ server_name: 'a', command: '/usr/local/bin/node' }, extended)).toEqual([]);
    expect(problems({ server_name: 'a', command: '/usr/local/bin/../bin/node' }, extended)).toEqual([
      'command',
    ]);
  });
  it('checks url scheme and the allowlist', () => {
    expect(problems({ server_name: 'a', url: 'file:///etc/passwd' })).toEqual(['url']);
    const listed = { ...policy, urlAllowlist: ['*.example.com', 'https://mcp.corp.net/'] };
    expect(problems({ server_name: 'a', url: 'https://x.example.com/mcp' }, listed)).toEqual([]);
    expect(problems({ server_name: 'a', url: 'https://mcp.corp.net/a' }, listed)).toEqual([]);
    expect(problems({ server_name: 'a', url: 'https://evil.com/mcp' }, listed)).toEqual(['url']);
  });
  it('refuses a credential with auth_type none and tools both allowed and disallowed', () => {
    expect(problems({ server_name: 'a', url: 'http://h', auth_type: 'none', auth_value: 'x' })).toEqual([
      'auth_type',
    ]);
    expect(
      problems({ server_name: 'a', url: 'http://h', allowed_tools: ['t'], disallowed_tools: ['t'] }),
    ).toEqual(['disallowed_tools']);
  });
});

describe('parseConfigServers', () => {
  it('parses the product page entries, inferring SSE from the URL', () => {
    const { servers, problems } = parseConfigServers(
      {
        zapier_mcp: { url: 'https://actions.zapier.com/mcp/sk-a/sse' },
        fetch: { url: 'http://localhost:8000/sse', spec_version: '2025-03-26' },
      },
      policy,
    );
    expect(problems).toEqual([]);
    expect(servers.map((s) => [s.serverName, s.transport, s.source])).toEqual([
      ['zapier_mcp', 'sse', 'config'],
      ['fetch', 'sse', 'config'],
    ]);
  });
  it('reports every problem with file, server and field', () => {
    const { problems } = parseConfigServers(
      {
        'bad-name': { url: 'http://h' },
        a: { transport: 'stdio' },
        b: { url: 'http://h', colour: 'red' },
        c: 'http://h',
        d: { url: 'http://h', alias: 'a' },
        e: { url: 'http://h', alias: 'd' },
      },
      policy,
      'gw.yaml',
    );
    expect(problems).toEqual([
      expect.stringMatching(/^gw\.yaml: mcp_servers\.bad-name: the server name must be 1 to 64/),
      'gw.yaml: mcp_servers.a.command: a stdio server needs command (and optionally args and env)',
      'gw.yaml: mcp_servers.b.colour: property colour should not exist',
      'gw.yaml: mcp_servers.c: expected a mapping (url, transport, command, ...)',
      'gw.yaml: mcp_servers.e.alias: alias d is already used by server d',
    ]);
  });
});

describe('SecretCipher', () => {
  const cipher = new SecretCipher('salt-1');
  it('round-trips, with a fresh IV each time', () => {
    const a = cipher.encrypt('token');
    expect(a).toMatch(/^v1:/);
    expect(a).not.toBe(cipher.encrypt('token'));
    expect(cipher.decrypt(a)).toBe('token');
  });
  it('refuses the wrong key', () => {
    expect(() => new SecretCipher('salt-2').decrypt(cipher.encrypt('token'))).toThrow(SecretDecryptionError);
  });
  it('detects tampering', () => {
    const raw = Buffer.from(cipher.encrypt('token').slice(3), 'base64');
    raw[raw.length - 1] ^= 1;
    expect(() => cipher.decrypt(`v1:${raw.toString('base64')}`)).toThrow(SecretDecryptionError);
    expect(() => cipher.decrypt('v2:abc')).toThrow(SecretDecryptionError);
    expect(() => cipher.decrypt('v1:')).toThrow(SecretDecryptionError);
  });
});

describe('private address blocking', () => {
  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.20.0.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['::1', true],
    ['fd00::1', true],
    ['fe80::1', true],
    ['::ffff:10.0.0.1', true],
    ['8.8.8.8', false],
    ['::ffff:8.8.8.8', false],
    ['2606:4700::1111', false],
    // Forms that carry an IPv4 address (issue 15): each judged by what it carries.
    ['::127.0.0.1', true],
    ['::7f00:1', true],
    ['::ffff:7f00:1', true],
    ['64:ff9b::7f00:1', true],
    ['64:ff9b::127.0.0.1', true],
    ['64:ff9b::8.8.8.8', false],
    ['64:ff9b:1::1', true],
    ['2002:7f00:1::1', true],
    ['2002:808:808::1', false],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', true], // Teredo client 127.0.0.1
    ['fec0::1', true],
    ['ff02::1', true],
    ['224.0.0.1', true],
    ['198.18.0.1', true],
    ['0.0.0.0', true],
    ['::', true],
    ['not-an-ip', true],
  ])('%s -> %s', (address, expected) => expect(isPrivateAddress(address)).toBe(expected));

  it('checks the resolved addresses of a URL', async () => {
    await expect(checkUrlNotPrivate('http://169.254.169.254/latest')).resolves.toContain('169.254.169.254');
    await expect(checkUrlNotPrivate('http://localhost:8000/mcp')).resolves.toContain('private or reserved');
    await expect(checkUrlNotPrivate('http://8.8.8.8/mcp')).resolves.toBeNull();
    // The URL parser normalises these; the rule sees the address they are.
    await expect(checkUrlNotPrivate('http://[::127.0.0.1]/')).resolves.toContain('127.0.0.1');
    await expect(checkUrlNotPrivate('http://[64:ff9b::7f00:1]/')).resolves.toContain('127.0.0.1');
    await expect(checkUrlNotPrivate('http://2130706433/')).resolves.toContain('127.0.0.1');
    await expect(checkUrlNotPrivate('http://0x7f.1/')).resolves.toContain('127.0.0.1');
  });

  it('checks every address a name resolves to, with the resolver it is given', async () => {
    const resolver = (host: string) =>
      Promise.resolve(
        host === 'mixed.test'
          ? [
              { address: '203.0.113.9', family: 4 as const },
              { address: '::ffff:10.0.0.1', family: 6 as const },
            ]
          : [{ address: '203.0.113.9', family: 4 as const }],
      );
    await expect(checkUrlNotPrivate('http://mixed.test/', resolver)).resolves.toContain('10.0.0.1');
    await expect(checkUrlNotPrivate('http://public.test/', resolver)).resolves.toBeNull();
    await expect(
      checkUrlNotPrivate('http://x.test/', () => Promise.reject(new Error('nx'))),
    ).resolves.toContain('does not resolve');
  });
});

describe('upstreamHeaders', () => {
  const secrets = (authValue: string) => ({ authValue, staticHeaders: { 'X-Org': 'o' }, env: {} });
  it.each([
    ['bearer_token', 't', { Authorization: 'Bearer t' }],
    ['api_key', 't', { 'X-API-Key': 't' }],
    ['basic', 'u:p', { Authorization: `Basic ${Buffer.from('u:p').toString('base64')}` }],
    ['basic', 'dTpw', { Authorization: 'Basic dTpw' }],
    ['authorization', 'Token t', { Authorization: 'Token t' }],
    ['none', 't', {}],
  ] as const)('%s', (authType, value, expected) => {
    expect(upstreamHeaders({ authType, secrets: secrets(value) })).toEqual({ 'X-Org': 'o', ...expected });
  });
});
