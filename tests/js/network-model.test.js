import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultHints, fromFields, toFields } from '../../ui/js/network-model.js';
import { setLanguage } from '../../ui/js/i18n.js';

const defaults = {
  timeouts: { connect_ms: 10000, first_byte_ms: 60000, idle_ms: 60000 },
  retries: { max_retries: 2, backoff_ms: 1000 },
  proxy: { mode: 'system', url: '', no_proxy: '', username: '' },
};

test('settings show as seconds and come back as milliseconds, unchanged', () => {
  const n = {
    timeouts: { connect_ms: 2500, first_byte_ms: 30000, idle_ms: 45000, answer_deadline_ms: 600000 },
    retries: { max_retries: 4, backoff_ms: 250 },
    proxy: { mode: 'custom', url: 'socks5://127.0.0.1:1080', no_proxy: 'localhost', username: 'u' },
  };
  const f = toFields(n);
  assert.equal(f.connect, '2.5');
  assert.equal(f.deadline, '600');
  assert.deepEqual(fromFields(f, defaults), { network: n, error: null });
});

test('blank fields take their defaults; a blank answer limit is none', () => {
  const blank = { connect: '', firstByte: ' ', idle: '', deadline: '', retries: '', backoff: '',
    proxyMode: 'system', proxyUrl: '', noProxy: '', proxyUser: '' };
  const r = fromFields(blank, defaults);
  assert.equal(r.error, null);
  assert.deepEqual(r.network?.timeouts, { connect_ms: 10000, first_byte_ms: 60000, idle_ms: 60000, answer_deadline_ms: null });
  assert.deepEqual(r.network?.retries, defaults.retries);
});

test('bad values are refused with the field named, in the window language', () => {
  const base = toFields({ ...defaults, timeouts: { ...defaults.timeouts } });
  assert.match(fromFields({ ...base, connect: '0' }, defaults).error ?? '', /^Connect timeout: enter seconds/);
  assert.match(fromFields({ ...base, idle: 'soon' }, defaults).error ?? '', /^Idle timeout/);
  assert.match(fromFields({ ...base, retries: '1.5' }, defaults).error ?? '', /^Retries: enter a whole number/);
  assert.match(fromFields({ ...base, proxyMode: 'custom', proxyUrl: ' ' }, defaults).error ?? '', /needs its URL/);
  // A decimal comma is a decimal sign.
  assert.equal(fromFields({ ...base, connect: '1,5' }, defaults).network?.timeouts.connect_ms, 1500);
  try {
    setLanguage('de');
    assert.match(fromFields({ ...base, connect: '0' }, defaults).error ?? '', /^Verbindungs-Timeout: Geben Sie Sekunden ein, mindestens 0,1\.$/);
    assert.equal(defaultHints(defaults).connect, 'Standard: 10 s');
  } finally {
    setLanguage('en');
  }
  assert.equal(defaultHints(defaults).backoff, 'Default: 1,000 ms');
});
