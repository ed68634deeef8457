import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppState, createAppState, initialData } from '../../ui/js/state.js';

test('the state is one object holding every key, and stays that object', () => {
  const state = createAppState();
  assert.ok(state instanceof AppState);
  const data = state.data;
  assert.deepEqual(Object.keys(data).sort(), [
    'active', 'choice', 'conversation', 'editing', 'openGen', 'paging', 'sidebar', 'ui', 'uiGen',
  ]);
  assert.match(data.conversation.id, /^[0-9a-f]{24}$/);
  assert.equal(data.conversation.stored, false);
  assert.equal(data.ui, null);
  assert.equal(data.active, null);
  state.set('editing', true);
  state.update('paging', { hasMore: true });
  state.set('openGen', 3);
  assert.equal(state.data, data, 'writes change fields of the same object');
  assert.equal(data.editing, true);
  assert.equal(data.paging.hasMore, true);
  assert.equal(data.openGen, 3);
});

test('set tells the subscribers of that key once per change, with the previous value', () => {
  const state = createAppState();
  /** @type {unknown[][]} */
  const heard = [];
  state.on('editing', (value, previous) => heard.push(['editing', value, previous]));
  state.on('openGen', (value, previous) => heard.push(['openGen', value, previous]));
  assert.equal(state.set('editing', true), true);
  assert.equal(state.set('editing', true), false, 'the same value is no change');
  assert.equal(state.set('editing', false), true);
  state.set('openGen', 1);
  assert.deepEqual(heard, [
    ['editing', true, false],
    ['editing', false, true],
    ['openGen', 1, 0],
  ]);
});

test('update replaces an object key with a merged copy, and is silent when nothing changes', () => {
  const state = createAppState();
  const before = state.data.choice;
  /** @type {unknown[]} */
  const heard = [];
  state.on('choice', (value, previous) => heard.push([value, previous]));
  assert.equal(state.update('choice', { model: 'm1' }), true);
  assert.notEqual(state.data.choice, before, 'a new object, so a change is seen by identity');
  assert.deepEqual(state.data.choice, { providerId: null, model: 'm1', explicit: false });
  assert.deepEqual(before, { providerId: null, model: '', explicit: false }, 'the old value is left as it was');
  assert.equal(state.update('choice', { model: 'm1', explicit: false }), false);
  assert.equal(heard.length, 1);
  assert.deepEqual(heard[0], [state.data.choice, before]);
});

test('on returns an unsubscribe; a failing subscriber does not stop the others or the write', () => {
  const state = createAppState();
  let a = 0;
  let b = 0;
  const offA = state.on('active', () => {
    a++;
    throw new Error('subscriber bug');
  });
  state.on('active', () => b++);
  const logged = [];
  const error = console.error;
  console.error = (/** @type {unknown} */ e) => logged.push(e);
  try {
    const stream = { streamId: 's1' };
    state.set('active', stream);
    assert.equal(state.data.active, stream);
  } finally {
    console.error = error;
  }
  assert.equal(a, 1);
  assert.equal(b, 1);
  assert.equal(logged.length, 1);
  offA();
  state.set('active', null);
  assert.equal(a, 1, 'unsubscribed');
  assert.equal(b, 2);
});

test('a state can start from given data (one new conversation id each time otherwise)', () => {
  const data = initialData();
  data.openGen = 7;
  assert.equal(createAppState(data).data.openGen, 7);
  assert.notEqual(initialData().conversation.id, initialData().conversation.id);
});

// Regression: a theme picked while a state load (after a language change) was on its
// way went back to the old theme for a moment when that load arrived.
test('a stale get_state does not undo a theme just chosen', () => {
  const state = createAppState();
  const base = /** @type {any} */ ({ theme: 'system', language: null, providers: [] });
  state.set('ui', base);
  /** @type {string[]} */
  const themes = [];
  state.on('ui', (ui) => themes.push(ui?.theme ?? ''));
  const early = state.beginUiLoad(); // the language change's refresh
  state.changeUi({ theme: 'dark' }); // the user picks dark meanwhile
  assert.equal(state.data.ui?.theme, 'dark');
  assert.equal(state.finishUiLoad(early, { ...base, language: 'de' }), false, 'the stale load is dropped');
  assert.equal(state.data.ui?.theme, 'dark');
  const late = state.beginUiLoad(); // the theme change's refresh
  const later = state.beginUiLoad(); // and one more after it
  assert.equal(state.finishUiLoad(late, { ...base, theme: 'dark' }), false, 'overtaken by a later load');
  assert.equal(state.finishUiLoad(later, { ...base, theme: 'dark', language: 'de' }), true);
  assert.equal(state.data.ui?.language, 'de');
  assert.deepEqual(themes, ['dark', 'dark']);
});
