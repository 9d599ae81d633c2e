import { describe, expect, it } from 'vitest';
import { baseEnvironment } from '../../src/front/cgi/base-env.js';

const serverEnv: NodeJS.ProcessEnv = {
  PATH: '/opt/server/bin:/usr/bin',
  HOME: '/root',
  USER: 'root',
  SHELL: '/bin/bash',
  LANG: 'en_US.UTF-8',
  LC_ALL: 'C.UTF-8',
  TZ: 'Europe/Paris',
  AWS_SECRET_ACCESS_KEY: 'hunter2',
  DATABASE_URL: 'postgres://u:secret@db/x',
  GITHUB_TOKEN: 'ghp_secret',
  NODE_OPTIONS: '--require /tmp/evil.js',
  LD_PRELOAD: '/tmp/evil.so',
  HTTP_PROXY: 'http://proxy:3128',
  EDITOR: 'vim',
};

const none = { passEnv: [], setEnv: {} };
const locale = ['TZ', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'LC_MESSAGES', 'LC_COLLATE', 'LC_NUMERIC', 'LC_TIME'];

describe('baseEnvironment', () => {
  it('holds only PATH and locale basics when nothing is passed or set', () => {
    const env = baseEnvironment(none, serverEnv);
    for (const name of Object.keys(env)) expect(['PATH', ...locale], name).toContain(name);
    expect(env).toMatchObject({ LANG: 'en_US.UTF-8', LC_ALL: 'C.UTF-8', TZ: 'Europe/Paris' });
  });

  it('always sets a PATH, even when the server has none', () => {
    const env = baseEnvironment(none, {});
    expect(env.PATH).toMatch(/\/bin/);
    expect(Object.keys(env)).toEqual(['PATH']);
  });

  it.each([['AWS_SECRET_ACCESS_KEY'], ['DATABASE_URL'], ['GITHUB_TOKEN'], ['HOME'], ['USER'], ['SHELL'], ['NODE_OPTIONS'], ['LD_PRELOAD'], ['HTTP_PROXY'], ['EDITOR']])(
    "does not include the server's %s",
    (name) => {
      expect(baseEnvironment(none, serverEnv)).not.toHaveProperty(name);
    },
  );

  it('does not let a secret value reach the environment under any name', () => {
    const values = Object.values(baseEnvironment(none, serverEnv));
    for (const secret of ['hunter2', 'ghp_secret', 'postgres://u:secret@db/x']) expect(values).not.toContain(secret);
  });

  it('hands on variables named by --pass-env', () => {
    const env = baseEnvironment({ passEnv: ['HOME', 'EDITOR'], setEnv: {} }, serverEnv);
    expect(env).toMatchObject({ HOME: '/root', EDITOR: 'vim' });
    expect(env).not.toHaveProperty('USER');
  });

  it("hands on the server's PATH only when --pass-env PATH asks for it", () => {
    expect(baseEnvironment({ passEnv: ['PATH'], setEnv: {} }, serverEnv).PATH).toBe('/opt/server/bin:/usr/bin');
  });

  it('leaves out a --pass-env variable the server does not have', () => {
    expect(baseEnvironment({ passEnv: ['MISSING'], setEnv: {} }, serverEnv)).not.toHaveProperty('MISSING');
  });

  it('adds variables from --set-env', () => {
    expect(baseEnvironment({ passEnv: [], setEnv: { APP_ENV: 'prod', EMPTY: '' } }, serverEnv)).toMatchObject({ APP_ENV: 'prod', EMPTY: '' });
  });

  it.each([
    ['--set-env over a locale basic', { passEnv: [], setEnv: { LANG: 'fr_FR.UTF-8' } }, 'LANG', 'fr_FR.UTF-8'],
    ['--set-env over --pass-env', { passEnv: ['EDITOR'], setEnv: { EDITOR: 'nano' } }, 'EDITOR', 'nano'],
    ['--set-env over PATH', { passEnv: [], setEnv: { PATH: '/only/here' } }, 'PATH', '/only/here'],
    ['--set-env over --pass-env PATH', { passEnv: ['PATH'], setEnv: { PATH: '/only/here' } }, 'PATH', '/only/here'],
  ])('lets later sources win: %s', (_why, options, name, value) => {
    expect(baseEnvironment(options, serverEnv)[name]).toBe(value);
  });

  it('makes every value a string', () => {
    const env = baseEnvironment({ passEnv: ['HOME', 'MISSING'], setEnv: { A: '1' } }, serverEnv);
    for (const [name, value] of Object.entries(env)) expect(typeof value, name).toBe('string');
  });

  it('reads process.env when no environment is given, without copying it', () => {
    const env = baseEnvironment(none);
    for (const name of Object.keys(env)) expect(['PATH', ...locale]).toContain(name);
  });
});
