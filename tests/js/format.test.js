import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addCost, coalesceOps, composerKey, globalKey, formatCost, formatMetrics, formatError, formatDuration, formatRetrying, errorTitle, newId,
} from '../../ui/js/format.js';

test('coalesceOps keeps only the last open before a replacing op', () => {
  const ops = [
    { op: 'open', html: 'a' }, { op: 'reasoning', text: 'x' }, { op: 'open', html: 'b' },
    { op: 'block', html: 'B' }, { op: 'open', html: 'c' }, { op: 'open', html: 'd' },
  ];
  assert.deepEqual(coalesceOps(ops), [
    { op: 'reasoning', text: 'x' }, { op: 'block', html: 'B' }, { op: 'open', html: 'd' },
  ]);
  assert.deepEqual(coalesceOps([{ op: 'open', html: 'a' }, { op: 'code_open', lang: '' }]), [{ op: 'code_open', lang: '' }]);
  assert.deepEqual(coalesceOps([{ op: 'code_append', text: 'a' }]), [{ op: 'code_append', text: 'a' }]);
});

test('composer keys: Enter sends, Shift+Enter is a newline, Esc stops, IME composition is ignored', () => {
  assert.equal(composerKey({ key: 'Enter' }), 'send');
  assert.equal(composerKey({ key: 'Enter', shiftKey: true }), null);
  assert.equal(composerKey({ key: 'Enter', isComposing: true }), null);
  assert.equal(composerKey({ key: 'Escape' }), 'cancel');
  assert.equal(composerKey({ key: 'a' }), null);
  assert.equal(globalKey({ key: 'n', ctrlKey: true }), 'new_chat');
  assert.equal(globalKey({ key: 'Escape' }), 'cancel');
  assert.equal(globalKey({ key: 'n' }), null);
  assert.equal(globalKey({ key: 'k', ctrlKey: true }), 'search');
  assert.equal(globalKey({ key: 'Backspace', ctrlKey: true, shiftKey: true }), 'delete_chat');
  assert.equal(globalKey({ key: 'Backspace', ctrlKey: true }), null);
});

test('formatMetrics shows server usage plainly and marks estimates', () => {
  const end = {
    status: 'done', error: null, finish_reason: 'stop', usage_estimated: false, tool_calls: [], text: '',
    metrics: { ttft_ms: 412.3, total_ms: 3210, chunks: 40, tokens_per_s: 54.25 },
    usage: { input_tokens: 14, output_tokens: 30 },
  };
  const m = formatMetrics(end);
  assert.equal(m.text, 'stop · 412 ms to first token · 3.21 s total · 54.3 tok/s · 14 in / 30 out');
  assert.equal(m.attrs['data-ttft-ms'], '412');
  assert.equal(m.attrs['data-tokens-per-s'], '54.3');
  assert.equal(m.attrs['data-input-tokens'], '14');
  const est = formatMetrics({ ...end, usage_estimated: true, finish_reason: null, status: 'cancelled',
    metrics: { ttft_ms: null, total_ms: 50, chunks: 0, tokens_per_s: null } });
  assert.match(est.text, /^cancelled · 50 ms total · ~14 in \/ ~30 out \(estimated\)$/);
  assert.equal(est.attrs['data-ttft-ms'], '');
  assert.equal(est.attrs['data-usage-estimated'], 'true');
  assert.equal(est.attrs['data-input-tokens'], '', 'empty when the server sent no usage');
  assert.equal(est.attrs['data-output-tokens'], '');
});

test('costs: shown under the answer with their precision, estimates marked, sums estimated if any part is', () => {
  const end = {
    status: 'done', error: null, finish_reason: 'stop', usage_estimated: false, tool_calls: [], text: '',
    metrics: { ttft_ms: null, total_ms: 10, chunks: 1, tokens_per_s: null },
    usage: { input_tokens: 1000, output_tokens: 200, cached_input_tokens: 400 },
    cost: { usd: 0.0034, estimated: false },
  };
  const m = formatMetrics(end);
  assert.match(m.text, / · \$0\.003400$/);
  assert.equal(m.attrs['data-cost-usd'], '0.0034');
  assert.equal(formatMetrics({ ...end, cost: null }).attrs['data-cost-usd'], '', 'no known price: no cost');
  assert.doesNotMatch(formatMetrics({ ...end, cost: null }).text, /\$/);
  assert.equal(formatCost({ usd: 1.5, estimated: true }), '~$1.5000');
  assert.equal(formatCost({ usd: 0, estimated: false }), '$0.0000');
  assert.deepEqual(addCost(null, { usd: 1, estimated: false }), { usd: 1, estimated: false });
  assert.deepEqual(addCost({ usd: 1, estimated: false }, null), { usd: 1, estimated: false });
  assert.deepEqual(addCost({ usd: 1, estimated: false }, { usd: 0.5, estimated: true }), { usd: 1.5, estimated: true });
  assert.equal(addCost(null, null), null);
});

test('formatError names the kind and keeps the provider message', () => {
  assert.equal(formatError({ kind: 'auth', message: 'Bad key' }), 'Authentication failed: Bad key');
  assert.equal(formatError({ kind: 'rate_limited', message: 'slow', retry_after_s: 3 }), 'Rate limited: slow (retry after 3 s)');
  assert.equal(errorTitle('nope'), 'Error');
  assert.equal(formatError({ kind: 'auth', message: 'Authentication failed: check the API key (HTTP 401)' }),
    'Authentication failed: check the API key (HTTP 401)');
});

test('durations and retry notices', () => {
  assert.equal(formatDuration(999), '999 ms');
  assert.equal(formatDuration(1500), '1.50 s');
  assert.equal(formatDuration(75_000), '1 min 15 s');
  assert.equal(formatDuration(null), '');
  assert.equal(formatRetrying({ attempt: 1, max: 2, delay_ms: 2000, reason: 'HTTP 503' }, 1200),
    'Retrying in 2 s (attempt 1 of 2): HTTP 503');
});

test('newId is random hex', () => {
  const a = newId();
  assert.match(a, /^[0-9a-f]{24}$/);
  assert.notEqual(a, newId());
});

import { parseHeaders, formatHeaders, pickProvider } from '../../ui/js/format.js';

test('headers parse and format round trip, with a clear error for a bad line', () => {
  const { headers, error } = parseHeaders('X-Team: blue\n\n HTTP-Referer : https://runnel.dev \n');
  assert.equal(error, null);
  assert.deepEqual(headers, { 'X-Team': 'blue', 'HTTP-Referer': 'https://runnel.dev' });
  assert.equal(formatHeaders(headers), 'X-Team: blue\nHTTP-Referer: https://runnel.dev');
  assert.equal(parseHeaders('nonsense').error, 'Line 1 is not "Name: value"');
  assert.equal(formatHeaders(undefined), '');
});

test('pickProvider: picked, then the environment, then a usable default, then a local model', () => {
  const env = { id: 'env', usable: true, from_env: true, provider: { kind: 'openai' } };
  const openai = { id: 'openai', usable: false, from_env: false, provider: { kind: 'openai' } };
  const ollama = { id: 'ollama', usable: true, from_env: false, provider: { kind: 'openai' } };
  const local = { id: 'local', usable: true, from_env: false, provider: { kind: 'local' } };
  const noModel = { ...local, usable: false };
  // What the user picked wins, usable or not (its row says what it lacks).
  assert.equal(pickProvider([env, openai, ollama], 'ollama', 'openai')?.id, 'openai');
  // The environment beats the saved default.
  assert.equal(pickProvider([env, openai, ollama], 'ollama', 'gone')?.id, 'env');
  assert.equal(pickProvider([env, openai, ollama], null, null)?.id, 'env');
  // Even without a key: its banner says how to set one (the core agrees).
  const envNoKey = { ...env, usable: false };
  assert.equal(pickProvider([envNoKey, ollama, local], 'ollama', null)?.id, 'env');
  // Then the default, if usable.
  assert.equal(pickProvider([openai, ollama, local], 'ollama', null)?.id, 'ollama');
  // An unusable default gives way to an installed local model.
  assert.equal(pickProvider([openai, ollama, local], 'openai', null)?.id, 'local');
  // With no local model either, the default still shows, with its problem.
  assert.equal(pickProvider([openai, noModel], 'openai', null)?.id, 'openai');
  // Nothing picked, nothing usable: none (onboarding).
  assert.equal(pickProvider([openai, noModel], null, null), null);
  assert.equal(pickProvider([], null, null), null);
});

import { snippetParts, formatDate, dateGroup, dateGroupLabel, searchFilter } from '../../ui/js/format.js';
import { setLanguage } from '../../ui/js/i18n.js';

test('snippetParts marks matches without any HTML', () => {
  assert.deepEqual(snippetParts('about the \uE000zygomorphic\uE001 <b>flowers</b>'), [
    { text: 'about the ', mark: false },
    { text: 'zygomorphic', mark: true },
    { text: ' <b>flowers</b>', mark: false },
  ]);
  assert.deepEqual(snippetParts(''), []);
});

test("formatDate: time today, weekday this week, date before, in the window's language", () => {
  const now = new Date(2026, 10, 21, 15, 0).getTime();
  const today = new Date(2026, 10, 21, 9, 5).getTime();
  const thisWeek = new Date(2026, 10, 19, 9, 5).getTime();
  const before = new Date(2025, 0, 2, 9, 5).getTime();
  try {
    setLanguage('en');
    assert.equal(formatDate(today, now), '09:05');
    assert.equal(formatDate(before, now), '01/02/2025');
    assert.equal(formatDate(thisWeek, now), 'Thu');
    setLanguage('de');
    assert.equal(formatDate(before, now), '02.01.2025');
    assert.equal(formatDate(thisWeek, now), new Intl.DateTimeFormat('de', { weekday: 'short' }).format(thisWeek));
    assert.notEqual(formatDate(thisWeek, now), 'Thu');
    setLanguage('zh-CN');
    assert.equal(formatDate(before, now), '2025/01/02');
    assert.match(formatDate(thisWeek, now), /四/);
  } finally {
    setLanguage('en');
  }
});

import { stampsIn } from '../../ui/js/page-metrics.js';

test('stampsIn finds the send stamps in html and text operations', () => {
  assert.deepEqual(
    stampsIn([
      { op: 'open', html: '<p>t1795297000123 t1795297000124</p>' },
      { op: 'code_append', text: 'x t1795297000125\n' },
      { op: 'reasoning', text: 'no stamp here t12' },
      { op: 'code_lit', html: '<span class="hl-source">t1795297000126</span>\n', tail: '    t1795297000127' },
    ]),
    [1795297000123, 1795297000124, 1795297000125, 1795297000126, 1795297000127],
  );
});

test('download progress reads as bytes of total, rate and time left', async () => {
  const { formatBytes, formatDownload } = await import('../../ui/js/format.js');
  assert.equal(formatBytes(1_117_320_736), '1.1 GB');
  assert.equal(formatBytes(270_590_880), '271 MB');
  assert.equal(formatBytes(10), '1 KB');
  const p = formatDownload({ done: 250_000_000, total: 1_000_000_000, bytes_per_s: 12_500_000, eta_s: 60 });
  assert.equal(p.percent, 25);
  assert.match(p.text, /^250 MB of 1\.0 GB · 13 MB\/s · .+ left$/);
  const unknown = formatDownload({ done: 5_000_000, total: null, bytes_per_s: 1_000_000, eta_s: null });
  assert.equal(unknown.percent, null);
  assert.equal(unknown.text, '5 MB · 1 MB/s');
});

test('the sidebar groups by pinned, today, yesterday, earlier this week, then month (local days)', () => {
  const now = new Date(2026, 11, 2, 9, 30).getTime(); // Wed 2 Dec 2026, 09:30 local
  const at = (/** @type {number[]} */ ...d) => new Date(d[0], d[1], d[2], d[3] ?? 12).getTime();
  assert.equal(dateGroup(at(2026, 11, 2, 0), now, false), 'today');
  assert.equal(dateGroup(at(2026, 11, 2, 23), now, false), 'today', 'later today (clock skew) is today');
  assert.equal(dateGroup(at(2026, 11, 1, 23), now, false), 'yesterday');
  assert.equal(dateGroup(at(2026, 11, 1, 0), now, false), 'yesterday');
  assert.equal(dateGroup(at(2026, 10, 30), now, false), 'week');
  assert.equal(dateGroup(at(2026, 10, 26), now, false), 'week');
  assert.equal(dateGroup(at(2026, 10, 25), now, false), 'month:2026-11');
  assert.equal(dateGroup(at(2025, 0, 31), now, false), 'month:2025-01');
  assert.equal(dateGroup(at(2026, 11, 2), now, true), 'pinned');
  assert.equal(dateGroupLabel('today'), 'Today');
  assert.match(dateGroupLabel('month:2025-01'), /2025/);
});

test('the search filter fields make a filter (local days, the end day included) or none', () => {
  const none = { role: '', provider: '', model: ' ', since: '', until: '' };
  assert.equal(searchFilter(none), null);
  const f = searchFilter({ ...none, role: 'user', provider: 'openai', model: ' gpt-4o ', since: '2026-12-01', until: '2026-12-01' });
  assert.deepEqual(f, {
    provider: 'openai', model: 'gpt-4o', role: 'user',
    since: new Date(2026, 11, 1).getTime(), until: new Date(2026, 11, 2).getTime(),
  });
  assert.equal(searchFilter({ ...none, role: 'system' }), null, 'an unknown role is no filter');
  assert.equal(searchFilter({ ...none, since: '12/01/2026' }), null, 'only the date field\'s own form');
});
