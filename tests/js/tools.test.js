import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitCommandLine, serverInput, formFields } from '../../ui/js/settings-tools.js';
import { toggled } from '../../ui/js/conversation-tools.js';
import { shownArguments } from '../../ui/js/tool-approval.js';

test('a command line splits on spaces, keeps quoted words whole and escaped characters', () => {
  assert.deepEqual(splitCommandLine('npx -y @scope/server  /tmp/a'), ['npx', '-y', '@scope/server', '/tmp/a']);
  assert.deepEqual(splitCommandLine(`python3 "my server.py" --name 'a b' x\\ y ""`), ['python3', 'my server.py', '--name', 'a b', 'x y', '']);
  assert.deepEqual(splitCommandLine('   '), []);
});

test('the form becomes a stdio or an HTTP server, and bad lines are said', () => {
  const stdio = serverInput(' files ', 'node server.js --root /x', 'LOG=1\nGITHUB_TOKEN=abc=def\n\n');
  assert.equal(typeof stdio, 'object');
  assert.deepEqual(stdio, {
    name: 'files', command: 'node', args: ['server.js', '--root', '/x'], url: null, cwd: null,
    values: { LOG: '1', GITHUB_TOKEN: 'abc=def' }, secret: [], replace: false,
  });
  const http = serverInput('web', 'https://example.com/mcp', 'Authorization=Bearer x');
  assert.equal(typeof http === 'object' && http.url, 'https://example.com/mcp');
  assert.equal(typeof http === 'object' && http.command, null);
  assert.equal(typeof serverInput('x', 'cmd', 'no equals sign'), 'string');
  assert.equal(typeof serverInput('x', '  ', ''), 'string');
});

test('switching a tool off and on again keeps one sorted list', () => {
  let off = toggled([], 'b__x', false);
  off = toggled(off, 'a__y', false);
  assert.deepEqual(off, ['a__y', 'b__x']);
  assert.deepEqual(toggled(off, 'b__x', true), ['a__y']);
  assert.deepEqual(toggled(off, 'a__y', false), ['a__y', 'b__x']);
});

test('arguments are shown pretty when they are JSON, as written otherwise', () => {
  assert.equal(shownArguments('{"a":1}'), '{\n  "a": 1\n}');
  assert.equal(shownArguments(''), '{}');
  assert.equal(shownArguments('{"a":'), '{"a":');
});

test('editing a server fills the form so that saving it again gives the same server; secrets are left blank', () => {
  const server = {
    name: 'files', enabled: true, always_allow: [],
    transport: { type: 'stdio', command: '/usr/bin/my server', args: ['--root', 'a "b"', 'c\\d'], env: { LOG: '1' }, secret_env: ['API_TOKEN'], cwd: null },
  };
  const f = formFields(/** @type {any} */ (server));
  assert.equal(f.values, 'LOG=1\nAPI_TOKEN=');
  const back = serverInput('files', f.target, f.values);
  assert.ok(typeof back === 'object');
  assert.equal(back.command, '/usr/bin/my server');
  assert.deepEqual(back.args, ['--root', 'a "b"', 'c\\d']);
  assert.deepEqual(back.values, { LOG: '1', API_TOKEN: '' });
  const web = formFields(/** @type {any} */ ({ name: 'w', enabled: true, transport: { type: 'http', url: 'https://x/mcp', headers: {}, secret_headers: ['Authorization'] } }));
  assert.deepEqual(web, { target: 'https://x/mcp', values: 'Authorization=' });
});
