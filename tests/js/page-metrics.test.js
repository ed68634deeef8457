import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installPageMetrics, PageMetrics } from '../../ui/js/page-metrics.js';
import { createAppState } from '../../ui/js/state.js';

test('the page metrics hook in only when the provider state says page_metrics', (t) => {
  /** @type {(() => void)[]} */
  const frames = [];
  globalThis.requestAnimationFrame = (cb) => frames.push(() => cb(0));
  globalThis.window = globalThis;
  t.after(() => {
    delete globalThis.requestAnimationFrame;
    delete globalThis.window;
    delete globalThis.__runnelMetrics;
    delete globalThis.__runnelLastOpenMs;
  });
  const state = createAppState();
  /** @type {any[]} */
  const installed = [];
  installPageMetrics(state, { instrument: (hooks) => installed.push(hooks) });
  assert.deepEqual(installed, [], 'nothing before the state is loaded');
  state.set('ui', /** @type {any} */ ({ page_metrics: false }));
  assert.deepEqual(installed, [null]);
  state.set('ui', /** @type {any} */ ({ page_metrics: true }));
  const hooks = installed[1];
  assert.ok(hooks);

  // A stream: window.__runnelMetrics is its PageMetrics; Stop counts for the latest.
  const first = hooks.streamStarted();
  assert.ok(first instanceof PageMetrics);
  assert.equal(globalThis.__runnelMetrics, first);
  const second = hooks.streamStarted();
  assert.equal(globalThis.__runnelMetrics, second);
  hooks.streamCancelled();
  assert.equal(first.cancelAt, null);
  assert.equal(typeof second.cancelAt, 'number');
  second.end();
  assert.equal(typeof second.summary().cancel_to_stopped_ms, 'number');

  // An open: click to first paint, set at the next frame.
  hooks.opened(performance.now() - 5);
  frames.splice(0).forEach((f) => f());
  assert.ok(globalThis.__runnelLastOpenMs >= 5);
});

test('a Compare summary pools every column\'s tokens and counts long frames once', async () => {
  const { compareSummary } = await import('../../ui/js/page-metrics.js');
  const a = new PageMetrics();
  const b = new PageMetrics();
  a.latency.push(30, 10, 20);
  b.latency.push(40);
  a.start(false);
  a.frames.push(16, 120, 60);
  b.frames.push(500); // a column that does not time frames adds none
  a.end();
  const s = compareSummary([a, b]);
  assert.equal(s.columns, 2);
  assert.equal(s.ended, 1);
  assert.equal(s.tokens_painted, 4);
  assert.deepEqual(s.tokens_per_column, [3, 1]);
  assert.equal(s.paint_p50_ms, 30, "percentiles of the sorted pool, not of the order they came in");
  assert.equal(s.paint_p99_ms, 40);
  assert.ok(s.streamed_ms[0] >= 0, 'the ended column says how long it streamed');
  assert.equal(s.streamed_ms[1], null, 'a column still streaming has no length yet');
  assert.equal(s.frames, 3);
  assert.equal(s.frames_over_50ms, 2);
  assert.equal(s.frames_over_100ms, 1);
  assert.equal(s.max_frame_ms, 120);
});
