import { exposedName, NameIndex, splitExposedName, uniqueExposedNames } from './naming.js';

describe('exposedName', () => {
  it('prefixes with the alias and a dash', () =>
    expect(exposedName('github', 'create_issue', 64)).toBe('github-create_issue'));

  it('keeps names at the limit unchanged', () => {
    const name = 'x'.repeat(64 - 'gh-'.length);
    expect(exposedName('gh', name, 64)).toBe(`gh-${name}`);
  });

  it('shortens longer names deterministically to the limit, keeping a readable head', () => {
    const long = 'a_very_long_tool_name_that_goes_on_and_on_and_on_and_on_and_on_forever';
    const first = exposedName('server', long, 64);
    expect(first).toHaveLength(64);
    expect(first.startsWith('server-a_very_long_tool_name')).toBe(true);
    expect(first).toMatch(/_[0-9a-f]{8}$/);
    expect(exposedName('server', long, 64)).toBe(first);
    expect(exposedName('server', `${long}2`, 64)).not.toBe(first);
    expect(exposedName('server', long, 32)).toHaveLength(32);
  });
});

describe('splitExposedName', () => {
  it.each([
    ['github-create_issue', { alias: 'github', name: 'create_issue' }],
    ['a-b-c', { alias: 'a', name: 'b-c' }],
    ['nodash', null],
    ['-lead', null],
    ['trail-', null],
  ])('%s', (input, expected) => expect(splitExposedName(input)).toEqual(expected));
});

describe('NameIndex', () => {
  const entry = (alias: string, name: string) => ({
    serverId: `id-${alias}`,
    alias,
    name,
    item: name,
    exposed: exposedName(alias, name, 64),
  });
  const index = new NameIndex([entry('a', 'echo'), entry('b', 'echo'), entry('b', 'only_b')], true);

  it('resolves exposed names', () =>
    expect(index.resolve('b-echo')).toMatchObject({ entry: { serverId: 'id-b' } }));
  it('resolves an unambiguous unprefixed name', () =>
    expect(index.resolve('only_b')).toMatchObject({ entry: { serverId: 'id-b' } }));
  it('reports an ambiguous unprefixed name with its candidates', () =>
    expect(index.resolve('echo')).toEqual({ ambiguous: ['a-echo', 'b-echo'] }));
  it('returns null for an unknown name', () => expect(index.resolve('c-echo')).toBeNull());
  it('uses upstream names on a single-server (unprefixed) index', () => {
    const single = new NameIndex([entry('a', 'echo')], false);
    expect(single.resolve('echo')).toMatchObject({ entry: { name: 'echo' } });
  });
});

describe('uniqueExposedNames (issue 15, item 10)', () => {
  const entry = (serverId: string, alias: string, name: string, max = 24) => ({
    serverId,
    alias,
    name,
    exposed: exposedName(alias, name, max),
  });

  it('a tool named like another tool shortened form: both listed, under two names, each reaching its own', () => {
    const long = entry('s1', 'srv', 'a_very_long_tool_name_indeed');
    const literal = entry('s1', 'srv', long.exposed.slice('srv-'.length));
    expect(literal.exposed).toBe(long.exposed);
    const named = uniqueExposedNames([long, literal], 24);
    expect(named.map((e) => e.name)).toEqual([long.name, literal.name]);
    // The literal name keeps itself; the shortened one moves.
    expect(named[1].exposed).toBe(literal.exposed);
    expect(named[0].exposed).not.toBe(literal.exposed);
    expect(named[0].exposed.length).toBeLessThanOrEqual(24);
    expect(new Set(named.map((e) => e.exposed)).size).toBe(2);
    // The same in the other order gives the same names.
    const reversed = uniqueExposedNames([literal, long], 24);
    expect(reversed.find((e) => e.name === long.name)?.exposed).toBe(named[0].exposed);
  });

  it('a name an upstream lists twice is listed once', () => {
    const named = uniqueExposedNames(
      [entry('s1', 'srv', 'echo'), entry('s1', 'srv', 'echo'), entry('s2', 'b', 'echo')],
      24,
    );
    expect(named.map((e) => e.exposed)).toEqual(['srv-echo', 'b-echo']);
  });

  it('unprefixed listings (one server) are unique too', () => {
    const named = uniqueExposedNames(
      [
        { serverId: 's1', alias: 'srv', name: 'echo', exposed: 'echo' },
        { serverId: 's1', alias: 'srv', name: 'echo', exposed: 'echo' },
      ],
      24,
    );
    expect(named).toHaveLength(1);
  });
});
