import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CATALOG, LANGUAGES } from '../../ui/js/catalog.js';
import { formatNumber, language, pickLanguage, setLanguage, t } from '../../ui/js/i18n.js';
import { clampSidebarWidth, keyLabel, rankModels, recordRecent, RECENT_LIMIT, SIDEBAR_WIDTH } from '../../ui/js/format.js';

const placeholders = (/** @type {string} */ s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('every language has every English key, with the same placeholders, and nothing else', () => {
  const en = CATALOG.en;
  assert.deepEqual(LANGUAGES.map(([code]) => code).sort(), Object.keys(CATALOG).sort());
  for (const [lang, table] of Object.entries(CATALOG)) {
    const missing = Object.keys(en).filter((k) => !(k in table));
    const extra = Object.keys(table).filter((k) => !(k in en));
    assert.deepEqual(missing, [], `${lang} lacks keys`);
    assert.deepEqual(extra, [], `${lang} has keys English does not`);
    for (const [k, v] of Object.entries(table)) {
      assert.ok(v.trim(), `${lang} ${k} is empty`);
      assert.deepEqual(placeholders(v), placeholders(en[k]), `${lang} ${k}: placeholders differ from English`);
    }
  }
});

test('German and Chinese are translations, not copies of English', () => {
  // Strings that are the same in every language (units, symbols) are short.
  for (const lang of ['de', 'zh-CN']) {
    const same = Object.entries(CATALOG[lang]).filter(([k, v]) => v === CATALOG.en[k] && v.length > 8 && !k.startsWith('unit.'));
    assert.deepEqual(same, [], `${lang} keeps English text`);
  }
});

/** The keys the window's code and page use. */
function usedKeys() {
  const dir = new URL('../../ui/', import.meta.url);
  const keys = new Set();
  const html = readFileSync(new URL('index.html', dir), 'utf8');
  for (const m of html.matchAll(/data-i18n(?:-[a-z-]+)?="([^"]+)"/g)) keys.add(m[1]);
  for (const f of ['format.js', 'pickers.js', 'message-view.js', 'conversation-view.js', 'sidebar.js', 'search.js',
    'settings-view.js', 'onboarding.js', 'banners.js', 'transfer.js', 'header.js', 'network-model.js',
    'settings-network.js', 'prompts.js', 'settings-prompts.js', 'settings-local.js']) {
    const js = readFileSync(new URL(`js/${f}`, dir), 'utf8');
    for (const m of js.matchAll(/\bt\(\s*'([a-z_]+\.[a-z_0-9]+)'/g)) keys.add(m[1]);
    for (const m of js.matchAll(/'((?:error|metrics)\.[a-z_]+)'/g)) keys.add(m[1]);
  }
  return keys;
}

test('every key the window uses is in the catalog', () => {
  const missing = [...usedKeys()].filter((k) => !(k in CATALOG.en));
  assert.deepEqual(missing, []);
});

test('the page has no text of its own: every string is a catalog key', () => {
  const html = readFileSync(new URL('../../ui/index.html', import.meta.url), 'utf8')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<title>Runnel<\/title>/, '');
  // Text between tags: only separators may be written in the page.
  const texts = [...html.matchAll(/>([^<]+)</g)].map((m) => m[1].trim()).filter((s) => s && s !== '·');
  assert.deepEqual(texts, []);
  // Attributes people read or hear come from the catalog too; an example of a
  // technical value (a URL, a list of hosts) is not language.
  const technical = /^[\w.:/[\]-]+(,\s*[\w.:/[\]-]+)*$/;
  const attrs = [...html.matchAll(/\s(title|placeholder|aria-label)="([^"]*)"/g)]
    .filter((m) => !(m[1] === 'placeholder' && technical.test(m[2])));
  assert.deepEqual(attrs.map((m) => m[0]), []);
});

test('pickLanguage reads LANGUAGE lists, POSIX locales and BCP 47 tags', () => {
  assert.equal(pickLanguage(['de_DE.UTF-8']), 'de');
  assert.equal(pickLanguage(['de-AT']), 'de');
  assert.equal(pickLanguage(['fr:de:en']), 'de');
  assert.equal(pickLanguage(['zh_CN.UTF-8']), 'zh-CN');
  assert.equal(pickLanguage(['zh-Hans-CN']), 'zh-CN');
  // Traditional Chinese is not offered as Simplified.
  assert.equal(pickLanguage(['zh_TW.UTF-8', 'en_US']), 'en');
  assert.equal(pickLanguage(['C.UTF-8', 'POSIX', '', null, undefined]), 'en');
  assert.equal(pickLanguage(['ja_JP']), 'en');
  assert.equal(pickLanguage([]), 'en');
});

test('t fills placeholders as text, falls back to English, and follows setLanguage', () => {
  try {
    setLanguage('de');
    assert.equal(language(), 'de');
    assert.equal(t('chat.send'), 'Senden');
    assert.equal(t('transfer.exported', { path: '<b>/tmp/x</b>' }), 'Exportiert nach <b>/tmp/x</b>');
    setLanguage('zh-CN');
    assert.equal(t('chat.send'), '发送');
    setLanguage('xx');
    assert.equal(language(), 'en');
    assert.equal(t('chat.send'), 'Send');
    assert.equal(t('unit.s', {}), '{n} s');
  } finally {
    setLanguage('en');
  }
});

test('numbers are formatted for the language', () => {
  try {
    assert.equal(formatNumber(12345.678, 1), '12,345.7');
    setLanguage('de');
    assert.equal(formatNumber(12345.678, 1), '12.345,7');
  } finally {
    setLanguage('en');
  }
});

test('the picker ranks recent models first and filters by every word', () => {
  const models = ['gpt-4o', 'gpt-4o-mini', 'o3', 'gpt-4.1'];
  const recent = ['p\ngpt-4.1', 'other\ngpt-4o', 'p\no3'];
  assert.deepEqual(rankModels(models, '', 'p', recent), ['gpt-4.1', 'o3', 'gpt-4o', 'gpt-4o-mini']);
  assert.deepEqual(rankModels(models, 'MINI 4o', 'p', recent), ['gpt-4o-mini']);
  assert.deepEqual(rankModels(models, 'claude', 'p', recent), []);
  assert.deepEqual(rankModels(['a', 'a'], '', 'p', []), ['a']);
});

test('recordRecent moves an entry to the front, once, and keeps a bounded list', () => {
  assert.deepEqual(recordRecent(['a', 'b', 'c'], 'c'), ['c', 'a', 'b']);
  let list = /** @type {string[]} */ ([]);
  for (let i = 0; i < 50; i++) list = recordRecent(list, `m${i}`);
  assert.equal(list.length, RECENT_LIMIT);
  assert.equal(list[0], 'm49');
});

test('the sidebar width stays in its range', () => {
  assert.equal(clampSidebarWidth(10), SIDEBAR_WIDTH.min);
  assert.equal(clampSidebarWidth(5000), SIDEBAR_WIDTH.max);
  assert.equal(clampSidebarWidth(300.4), 300);
  assert.equal(clampSidebarWidth(Number.NaN), SIDEBAR_WIDTH.default);
});

test('keyLabel keeps the contract text in English and translates it in German', () => {
  const key = { set: true, last4: '9876', saved: true, problem: null };
  assert.equal(keyLabel(key, false), 'set ····9876');
  assert.equal(keyLabel({ ...key, saved: false }, false), 'set ····9876 (not saved: this session only)');
  assert.equal(keyLabel({ ...key, set: false, last4: null }, false), 'not set');
  try {
    setLanguage('de');
    assert.equal(keyLabel(key, true), 'gesetzt ····9876 (aus OPENAI_API_KEY, nicht gespeichert)');
  } finally {
    setLanguage('en');
  }
});

test('regression: the sidebar\'s dates reuse one Intl formatter per language and options (one was made per date)', async () => {
  const { formatDate } = await import('../../ui/js/format.js');
  const Real = Intl.DateTimeFormat;
  let made = 0;
  // @ts-ignore: counting constructions
  Intl.DateTimeFormat = function (/** @type {any[]} */ ...args) {
    made += 1;
    return new Real(...args);
  };
  try {
    setLanguage('de');
    const now = new Date(2026, 10, 21, 15, 0).getTime();
    for (let i = 0; i < 50; i++) formatDate(new Date(2025, 0, 1 + i).getTime(), now);
    assert.equal(made, 1, 'one formatter for 50 dates');
    setLanguage('en');
    formatDate(new Date(2025, 0, 2).getTime(), now);
    assert.equal(made, 2, 'a new language makes its own');
  } finally {
    Intl.DateTimeFormat = Real;
    setLanguage('en');
  }
});
