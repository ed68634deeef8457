import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchingEvents, timelineOf, STALL_MS } from '../../ui/js/inspect.js';

const ev = (t_ms, data, event = null) => ({ kind: 'event', t_ms, event, data });

test('the timeline marks the first event, stalls over 500 ms, retries and dropped events', () => {
  const lines = [
    { kind: 'request', t_ms: 0, method: 'POST', url: 'u', headers: [], body: '{}' },
    { kind: 'retry', t_ms: 5, attempt: 1, delay_ms: 10, reason: 'HTTP 503' },
    { kind: 'response', t_ms: 40, status: 200, headers: [] },
    ev(50, 'a'), ev(60, 'b'), ev(60 + STALL_MS + 1, 'c'), ev(600, 'd'),
    { kind: 'end', t_ms: 700, status: 'done', dropped_events: 12, dropped_bytes: 0 },
  ];
  const tl = timelineOf(lines);
  assert.deepEqual(tl.events, [50, 60, 561, 600]);
  assert.equal(tl.first, 50);
  assert.deepEqual(tl.stalls, [{ from: 60, to: 561 }]);
  assert.deepEqual(tl.retries, [5]);
  assert.equal(tl.end, 700);
  assert.equal(tl.dropped, 12);
  assert.equal(timelineOf([]).first, null);
});

test('event search matches data and names in any case, comments too, and caps the rows', () => {
  const lines = [
    ev(1, '{"content":"Hello"}'), ev(2, '{"x":1}', 'message_start'), { kind: 'comment', t_ms: 3, text: 'keep-alive' },
    { kind: 'end', t_ms: 4, status: 'done', dropped_events: 0, dropped_bytes: 0 },
  ];
  assert.equal(matchingEvents(lines, '').total, 3);
  assert.deepEqual(matchingEvents(lines, 'hello').rows, [lines[0]]);
  assert.deepEqual(matchingEvents(lines, 'MESSAGE_START').rows, [lines[1]]);
  assert.deepEqual(matchingEvents(lines, 'keep').rows, [lines[2]]);
  const many = Array.from({ length: 50 }, (_, i) => ev(i, `e${i}`));
  const capped = matchingEvents(many, 'e', 10);
  assert.equal(capped.rows.length, 10);
  assert.equal(capped.total, 50);
});

test('usage: a range starts at local midnight days ago, days sum their models in order', async () => {
  const { rangeStart, dailyTotals } = await import('../../ui/js/settings-usage.js');
  const now = new Date(2026, 11, 2, 15, 30);
  assert.equal(rangeStart(0, now), null);
  assert.equal(rangeStart(1, now), new Date(2026, 11, 2).getTime());
  assert.equal(rangeStart(7, now), new Date(2026, 10, 26).getTime());
  const line = (day, usd, i, o) => ({ day, provider: 'p', model: 'm', answers: 1, input_tokens: i, output_tokens: o,
    cached_input_tokens: 0, estimated_answers: 0, cost: usd == null ? null : { usd, estimated: false }, unpriced_answers: 0 });
  assert.deepEqual(dailyTotals([line('2026-12-02', 1, 1, 1), line('2026-12-01', null, 5, 5), line('2026-12-02', 0.5, 2, 2)]), [
    { day: '2026-12-01', usd: 0, tokens: 10 },
    { day: '2026-12-02', usd: 1.5, tokens: 6 },
  ]);
});
