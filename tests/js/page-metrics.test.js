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
