import { describe, expect, it } from 'vitest';
import { matchMount } from '../../src/front/mounts.js';

describe('matchMount', () => {
  it.each([
    [['/env'], '/env', '/env', ''],
    [['/env'], '/env/', '/env', '/'],
    [['/env'], '/env/x', '/env', '/x'],
    [['/env'], '/env/x/y', '/env', '/x/y'],
    [['/cgi-bin'], '/cgi-bin/a.sh/extra', '/cgi-bin', '/a.sh/extra'],
  ])('with mounts %j matches %j on whole segments: prefix %j, rest %j', (prefixes, path, prefix, rest) => {
    expect(matchMount(prefixes, path)).toEqual({ prefix, rest });
  });

  it.each([['/envelope'], ['/en'], ['/'], ['/other/env'], ['/env-x']])('does not let mount /env match %j', (path) => {
    expect(matchMount(['/env'], path).prefix).not.toBe('/env');
  });

  it.each([['/'], ['/x'], ['/a/b/c'], ['/envelope']])('lets the root mount / match %j, leaving the whole path as rest', (path) => {
    expect(matchMount(['/'], path)).toEqual({ prefix: '', rest: path });
  });

  it.each([
    [['/', '/a', '/a/b'], '/a/b/c', '/a/b', '/c'],
    [['/a/b', '/a', '/'], '/a/b/c', '/a/b', '/c'],
    [['/', '/a', '/a/b'], '/a/bc', '/a', '/bc'],
    [['/', '/a', '/a/b'], '/ab', '', '/ab'],
    [['/a', '/a/b'], '/a', '/a', ''],
    [['/cgi-bin', '/'], '/cgi-bin/x', '/cgi-bin', '/x'],
    [['/cgi-bin', '/'], '/cgi-binx', '', '/cgi-binx'],
  ])('with mounts %j picks the longest whole-segment prefix for %j: %j, rest %j', (prefixes, path, prefix, rest) => {
    expect(matchMount(prefixes, path)).toEqual({ prefix, rest });
  });

  it('leaves the rest "" or starting with "/"', () => {
    for (const path of ['/env', '/env/', '/env/x', '/x', '/']) {
      const { rest } = matchMount(['/env', '/'], path);
      expect(rest === '' || rest.startsWith('/'), `${path} → ${JSON.stringify(rest)}`).toBe(true);
    }
  });
});
