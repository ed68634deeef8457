import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyLoop, frameClock } from '../../ui/js/answer-stream.js';

/** A page with animation frames run by hand. */
function page(t) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  /** @type {(() => void)[]} */
  const frames = [];
  globalThis.requestAnimationFrame = (cb) => frames.push(() => cb(0));
  t.after(() => delete globalThis.requestAnimationFrame);
  const runFrame = () => frames.splice(0).forEach((f) => f());
  return { frames, runFrame };
}

function fakeView(log) {
  return {
    apply: (ops) => log.push(['apply', ops]),
    finish: (end) => log.push(['finish', end.status]),
  };
}

/** A scroller at its bottom (or not). */
function list(atBottom) {
  return { scrollHeight: 1000, clientHeight: 200, scrollTop: atBottom ? 800 : 100 };
}

const ops = (...texts) => ({ type: 'ops', ops: texts.map((text) => ({ op: 'code_append', text })) });
const end = { type: 'end', status: 'done', error: null, finish_reason: 'stop', tool_calls: [], text: '' };

test('messages between two frames are applied once, in order, at the next frame', (t) => {
  const { frames, runFrame } = page(t);
  const log = [];
  const feed = applyLoop(fakeView(log), frameClock(list(false)), null, () => log.push(['end']));
  feed(ops('a', 'b'));
  feed(ops('c'));
  feed(ops('d'));
  assert.equal(frames.length, 1, 'one frame is asked for, however many messages arrive');
  assert.deepEqual(log, [], 'nothing is drawn before the frame');
  runFrame();
  assert.deepEqual(log, [['apply', ['a', 'b', 'c', 'd'].map((text) => ({ op: 'code_append', text }))]]);
  t.mock.timers.tick(100);
  assert.equal(log.length, 1, 'the fallback timer finds nothing left');
});

test('one message is applied as it came (no copy)', (t) => {
  const { runFrame } = page(t);
  const log = [];
  const feed = applyLoop(fakeView(log), frameClock(list(false)), null, () => {});
  const msg = ops('x');
  feed(msg);
  runFrame();
  assert.equal(log[0][1], msg.ops);
});

test('the end: pending ops first, then the end is shown, the probe told, then onEnd', (t) => {
  const { runFrame } = page(t);
  const log = [];
  const probe = {
    applied: (appliedOps, ms, inFrame) => log.push(['measured', appliedOps.length, typeof ms, inFrame]),
    end: () => log.push(['probe end']),
  };
  const feed = applyLoop(fakeView(log), frameClock(list(false)), probe, (e) => log.push(['onEnd', e.status]));
  feed(ops('a'));
  feed(ops('b'));
  feed(end);
  runFrame();
  assert.deepEqual(log, [
    ['apply', [{ op: 'code_append', text: 'a' }, { op: 'code_append', text: 'b' }]],
    ['measured', 2, 'number', true],
    ['finish', 'done'],
    ['probe end'],
    ['onEnd', 'done'],
  ]);
});

test('a hidden window (no frames) is drawn by the timer, and the list stays at its bottom', (t) => {
  page(t);
  const log = [];
  const probe = { applied: (o, ms, inFrame) => log.push(['measured', inFrame]), end: () => {} };
  const bottom = list(true);
  const feed = applyLoop(fakeView(log), frameClock(bottom), probe, () => {});
  feed(ops('a'));
  t.mock.timers.tick(100);
  assert.deepEqual(log.map((l) => l[0]), ['apply', 'measured']);
  assert.equal(log[1][1], false, 'measured outside an animation frame');
  assert.equal(bottom.scrollTop, bottom.scrollHeight, 'scrolled to the bottom');
  const away = list(false);
  const feed2 = applyLoop(fakeView([]), frameClock(away), null, () => {});
  feed2(ops('b'));
  t.mock.timers.tick(100);
  assert.equal(away.scrollTop, 100, 'a reader scrolled up is left where they are');
});

test("several streams of one list are drawn in one frame, with one read and one scroll of the list", (t) => {
  const { frames, runFrame } = page(t);
  const log = [];
  let reads = 0;
  let writes = 0;
  let top = 800;
  const bottom = {
    scrollHeight: 1000,
    clientHeight: 200,
    get scrollTop() { reads++; return top; },
    set scrollTop(v) { writes++; top = v; },
  };
  const clock = frameClock(bottom);
  const probe = (name) => ({ applied: (o, ms) => log.push(['measured', name, ms >= 0]), end: () => {} });
  const feeds = ['a', 'b', 'c', 'd'].map((name) => applyLoop(fakeView(log), clock, probe(name), () => {}));
  feeds.forEach((feed, i) => { feed(ops(`x${i}`)); feed(ops(`y${i}`)); });
  assert.equal(frames.length, 1, 'one frame for every stream');
  runFrame();
  assert.equal(log.filter((l) => l[0] === 'apply').length, 4, 'each stream applied once');
  assert.deepEqual(log.filter((l) => l[0] === 'measured').map((l) => l[1]), ['a', 'b', 'c', 'd']);
  assert.ok(log.filter((l) => l[0] === 'measured').every((l) => l[2]));
  assert.equal(reads, 1, 'whether the list is at its bottom is read once');
  assert.equal(writes, 1, 'and it is scrolled once');
  t.mock.timers.tick(100);
  assert.equal(log.filter((l) => l[0] === 'apply').length, 4, 'the timer finds nothing left');
  feeds[2](ops('z'));
  assert.equal(frames.length, 1, 'a later message asks for a new frame');
});
