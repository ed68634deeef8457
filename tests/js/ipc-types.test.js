// The window's JS is type-checked (tsc --checkJs) against ui/types/ipc.ts,
// which is generated from the Rust types (tests/ipc_types.rs keeps it in step).
// This proves the check bites: renaming a field the window receives makes it fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tsc = join(root, 'node_modules', '.bin', 'tsc');
const haveTsc = existsSync(tsc);
if (!haveTsc && process.env.CI === 'true') {
  throw new Error('CI=true but TypeScript is not installed: run `npm ci` (the test command does)');
}

/** Runs tsc over a copy of ui/ whose ipc.ts went through `edit`. */
function checkWith(edit) {
  const dir = mkdtempSync(join(tmpdir(), 'runnel-tsc-'));
  try {
    cpSync(join(root, 'ui'), join(dir, 'ui'), { recursive: true });
    const ipc = join(dir, 'ui', 'types', 'ipc.ts');
    writeFileSync(ipc, edit(readFileSync(ipc, 'utf8')));
    return spawnSync(tsc, ['-p', join(dir, 'ui')], { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the window JS type-checks against the generated IPC types', { skip: !haveTsc && 'TypeScript not installed (npm ci)' }, () => {
  const r = checkWith((s) => s);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

for (const [type, field] of [['Sent', 'answer_id'], ['StreamEnd', 'finish_reason'], ['MessageView', 'versions']]) {
  test(`renaming ${type}.${field} makes the type check fail`, { skip: !haveTsc && 'TypeScript not installed (npm ci)' }, () => {
    const r = checkWith((s) => {
      const start = s.indexOf(`export type ${type} = {`);
      assert.ok(start >= 0, `${type} is declared`);
      const end = s.indexOf('};', start);
      const body = s.slice(start, end).replace(new RegExp(`\\b${field}(\\??):`), `${field}_renamed$1:`);
      assert.notEqual(body, s.slice(start, end), `${type} has ${field}`);
      return s.slice(0, start) + body + s.slice(end);
    });
    assert.notEqual(r.status, 0, `tsc passed with ${type}.${field} renamed`);
    assert.match(r.stdout, new RegExp(field), r.stdout);
  });
}
