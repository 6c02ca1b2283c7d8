import { exposedName, NameIndex, splitExposedName } from './naming.js';

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
