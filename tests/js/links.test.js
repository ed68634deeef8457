import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hidesItsTarget } from '../../ui/js/links.js';

test('a link whose text is its target opens at once', () => {
  assert.equal(hidesItsTarget('https://example.com/docs', 'https://example.com/docs'), false);
  assert.equal(hidesItsTarget('example.com/docs/', 'https://example.com/docs'), false);
  assert.equal(hidesItsTarget('www.Example.com', 'https://example.com'), false);
  assert.equal(hidesItsTarget('me@example.com', 'mailto:me@example.com'), false);
});

test('a link whose text hides its target is shown first (regression: spoofed links)', () => {
  assert.equal(hidesItsTarget('your bank', 'https://evil.example'), true);
  assert.equal(hidesItsTarget('https://bank.example', 'https://evil.example/?bank.example'), true);
  assert.equal(hidesItsTarget('', 'https://example.com'), true);
});
