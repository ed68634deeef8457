import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootAppearance } from '../../ui/js/boot.js';

test('the appearance the app hands over is taken as it is', () => {
  const given = { theme: 'dark', language: 'de', system_languages: ['zh_CN.UTF-8', 'en'] };
  assert.deepEqual(bootAppearance(given), given);
  assert.deepEqual(bootAppearance({ theme: 'system', language: null, system_languages: [] }),
    { theme: 'system', language: null, system_languages: [] });
});

test('no appearance, or one not of its shape, is none (the page starts in the web view\'s language)', () => {
  assert.equal(bootAppearance(undefined), null);
  assert.equal(bootAppearance(null), null);
  assert.equal(bootAppearance('dark'), null);
  assert.equal(bootAppearance({ theme: 'neon', language: null, system_languages: [] }), null);
  assert.equal(bootAppearance({ theme: 'dark', language: 7, system_languages: [] }), null);
  assert.equal(bootAppearance({ theme: 'dark', language: null, system_languages: 'de' }), null);
  assert.equal(bootAppearance({ theme: 'dark', language: null, system_languages: [1] }), null);
});

test('without an argument it reads the page global the app\'s script sets', () => {
  globalThis.__RUNNEL_BOOT__ = { theme: 'light', language: 'zh-CN', system_languages: [] };
  try {
    assert.equal(bootAppearance()?.language, 'zh-CN');
  } finally {
    delete globalThis.__RUNNEL_BOOT__;
  }
  assert.equal(bootAppearance(), null);
});
