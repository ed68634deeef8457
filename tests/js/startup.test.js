import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { start, STATE_WAITS_FOR_SIDEBAR_MS } from '../../ui/js/startup.js';

/** A stand-in for the page's document: start() reads the focus and sets `data-ready`. */
function fakeDocument() {
  const body = { dataset: /** @type {Record<string, string>} */ ({}) };
  globalThis.document = /** @type {any} */ ({ body, activeElement: body });
  return body;
}

/** Steps that log when each begins; the sidebar's frame resolves when `paint()` is called. */
function steps(log) {
  /** @type {() => void} */
  let paint = () => {};
  const painted = new Promise((resolve) => { paint = () => resolve(undefined); });
  return {
    paint,
    steps: {
      focusComposer: () => log.push('focus'),
      refreshList: async () => { log.push('list'); },
      onSidebarShown: async () => { log.push('sidebar-frame'); await painted; log.push('painted'); },
      restoreView: async () => { log.push('view'); },
      refreshState: async () => { log.push('state'); },
      checkStore: async () => { log.push('store'); },
    },
  };
}

test('the provider state (the keychain) starts after the sidebar is painted, the store check after both', async () => {
  const body = fakeDocument();
  /** @type {string[]} */
  const log = [];
  const { paint, steps: s } = steps(log);
  const done = start(s);
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(log.includes('sidebar-frame'));
  assert.ok(!log.includes('state'), `state waits for the frame: ${log}`);
  paint();
  await done;
  assert.ok(log.indexOf('state') > log.indexOf('painted'), log.join(' '));
  assert.ok(log.indexOf('store') > log.indexOf('state'), log.join(' '));
  assert.equal(body.dataset.ready, 'true');
});

test('a sidebar that never lists holds the provider state back no longer than its limit', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    fakeDocument();
    /** @type {string[]} */
    const log = [];
    const { steps: s } = steps(log);
    s.refreshList = () => new Promise(() => {});
    start(s);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(!log.includes('state'));
    mock.timers.tick(STATE_WAITS_FOR_SIDEBAR_MS - 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(!log.includes('state'));
    mock.timers.tick(1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(log.includes('state'), `state after ${STATE_WAITS_FOR_SIDEBAR_MS} ms: ${log}`);
  } finally {
    mock.timers.reset();
  }
});
