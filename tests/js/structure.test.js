import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

const dir = new URL('../../ui/js/', import.meta.url);
const modules = readdirSync(dir).filter((f) => f.endsWith('.js'));
const source = (/** @type {string} */ f) => readFileSync(new URL(f, dir), 'utf8');

test('every window module is type-checked and stays small', () => {
  assert.ok(modules.length > 5);
  for (const f of modules) {
    const text = source(f);
    assert.ok(text.startsWith('// @ts-check\n'), `${f} starts with // @ts-check`);
    // The catalog is data (every string in three languages), not logic.
    if (f !== 'catalog.js') assert.ok(text.split('\n').length <= 700, `${f} is at most 700 lines`);
  }
});

test('HTML enters the page only through dom.js, which takes the backend-sanitized html fields', () => {
  for (const f of modules) {
    if (f === 'dom.js') continue;
    assert.doesNotMatch(source(f), /innerHTML|outerHTML|insertAdjacentHTML|document\.write/, `${f} writes no markup`);
  }
});

test('no module keeps mutable state at its top level; app.js only wires', () => {
  for (const f of modules) {
    // The one exception: the language every string is looked up in (i18n.js's
    // `t` is called from every view; passing a locale to each would not make
    // it less global), with the formatters made for it. Exactly that one variable.
    const text = f === 'i18n.js' ? source(f).replace(/^let current = \{ lang: FALLBACK, formats: new Map\(\) \};$/m, '') : source(f);
    assert.doesNotMatch(text, /^(export )?(let|var) /m, `${f} has no top-level let/var`);
  }
  const app = source('app.js');
  assert.doesNotMatch(app, /\bfunction\b|\bif\s*\(|\bfor\s*\(|\bwhile\s*\(|\bawait\b|\blet\b/, 'app.js has no logic of its own');
});

test('every icon index.html names is in icons.js (the modules\' names are checked by tsc)', async () => {
  const { ICONS } = await import('../../ui/js/icons.js');
  const html = readFileSync(new URL('../index.html', dir), 'utf8');
  const named = [...html.matchAll(/data-icon="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(named.length > 10);
  for (const name of named) assert.ok(name in ICONS, `icon ${name} exists`);
  assert.doesNotMatch(html, /<use\b/, 'no <use> references');
  for (const shapes of Object.values(ICONS)) {
    for (const [tag] of shapes) assert.match(tag, /^(path|circle|rect|line|polyline|polygon|ellipse)$/);
  }
});

/** The settings dialog's modules: imported when it first opens (settings.js). */
const LAZY = ['settings-view.js', 'settings-network.js', 'network-model.js', 'settings-prompts.js', 'settings-local.js', 'settings-usage.js', 'settings-backups.js', 'settings-tools.js'];

test('index.html preloads every module of the start (fetched at once, not import level by import level)', () => {
  const html = readFileSync(new URL('../index.html', dir), 'utf8');
  for (const f of modules) {
    if (f === 'app.js') continue;
    const preloaded = html.includes(`<link rel="modulepreload" href="js/${f}">`);
    if (LAZY.includes(f)) assert.ok(!preloaded, `${f} waits for the settings dialog`);
    else assert.ok(preloaded, `${f} is preloaded`);
  }
});

test('the settings dialog\'s modules are imported only when it opens, by settings.js', () => {
  for (const f of modules) {
    if (LAZY.includes(f)) continue;
    for (const lazy of LAZY) {
      const statically = new RegExp(`^import[^;]*from '\\./${lazy.replace('.', '\\.')}';`, 'm');
      assert.doesNotMatch(source(f), statically, `${f} does not import ${lazy} at start`);
    }
  }
  assert.match(source('settings.js'), /import\('\.\/settings-view\.js'\)/);
  const html = readFileSync(new URL('../index.html', dir), 'utf8');
  const template = html.match(/<template id="settings-template">([\s\S]*?)<\/template>/);
  assert.ok(template && template[1].includes('<dialog id="settings"'), 'the dialog waits in its template');
});

test('no module calls the browser\'s prompt(), confirm() or alert() (dialogs.js asks in the page)', () => {
  for (const f of modules) {
    for (const line of source(f).split('\n')) {
      if (/^\s*(\/\/|\*|\/\*)/.test(line) || /^\s*(async\s+)?\w+\([^)]*\)\s*\{$/.test(line)) continue;
      assert.doesNotMatch(line, /(^|[^.\w])(window\.)?(prompt|confirm|alert)\s*\(/, `${f}: ${line.trim()}`);
    }
  }
});

test('regression: the stylesheet has no :has() rule (re-checked on every change under the answer, frames grew with each code block)', () => {
  const css = readFileSync(new URL('../styles.css', dir), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  assert.ok(!css.includes(':has('), 'styles.css uses a class instead of :has()');
});
