// @ts-check
/**
 * The apply loop of streaming answers. Channel messages are queued as they
 * arrive and applied at most once per animation frame (a timer covers a hidden
 * window, where animation frames may not run), every stream of the list in
 * the same frame; the render operations of all messages since the last frame
 * go in one `apply`, so an open block replaced several times is drawn once.
 * Per-message work is a push onto the queue: no state events, no DOM
 * queries, nothing that grows with the answer.
 */
import { nearBottom, scrollToBottom } from './dom.js';

/** @typedef {import('../types/ipc').StreamMessage} StreamMessage */
/** @typedef {import('../types/ipc').StreamEnd} StreamEnd */
/** @typedef {import('../types/ipc').UiOp} UiOp */
/** @typedef {import('./message-view.js').AssistantView} AssistantView */

/**
 * Measurement of one stream (page-metrics.js, only with RUNNEL_PAGE_METRICS=1).
 * @typedef {object} StreamProbe
 * @property {(ops: UiOp[], applyMs: number, inFrame: boolean) => void} applied ops were applied, taking `applyMs`
 * @property {() => void} end the stream's end is shown
 */

/**
 * One animation frame for every stream that feeds the message list. Each
 * due stream's messages are applied in it, between one read of whether the
 * list sits at its bottom and one scroll back there: Compare's columns force
 * one layout a frame, not one per column.
 * @param {HTMLElement} list the message list: kept at its bottom when it was there
 */
export function frameClock(list) {
  /** @typedef {(inFrame: boolean) => ((sharedMs: number) => void)|null} Drain a due stream's apply; returns its measurement's end, or null */
  /** @type {Drain[]} */
  let due = [];
  let scheduled = false;
  /** @param {boolean} inFrame called from an animation frame */
  const run = (inFrame) => {
    scheduled = false;
    if (due.length === 0) return;
    const drains = due;
    due = [];
    const t0 = performance.now();
    const stick = nearBottom(list);
    const t1 = performance.now();
    /** @type {((sharedMs: number) => void)[]} */
    const ends = [];
    for (const drain of drains) {
      const end = drain(inFrame);
      if (end) ends.push(end);
    }
    const t2 = performance.now();
    if (stick) scrollToBottom(list);
    // The layout the scroll forces is shared by the streams drawn in this frame.
    const shared = (t1 - t0 + performance.now() - t2) / Math.max(ends.length, 1);
    for (const end of ends) end(shared);
  };
  return {
    /**
     * Asks for `drain` to run in the next frame (once however often asked).
     * @param {Drain} drain
     */
    schedule(drain) {
      if (!due.includes(drain)) due.push(drain);
      if (scheduled) return;
      scheduled = true;
      // The timer covers a hidden window, where animation frames may not run.
      requestAnimationFrame(() => run(true));
      setTimeout(() => run(false), 100);
    },
  };
}

/** @typedef {ReturnType<typeof frameClock>} FrameClock */

/**
 * Feeds one stream into its view.
 * @param {AssistantView} view the answer
 * @param {FrameClock} clock the frames the list's streams are drawn in
 * @param {StreamProbe|null} probe
 * @param {(end: StreamEnd) => void} onEnd called once the view shows the end
 * @returns {(msg: StreamMessage) => void} the channel's handler
 */
export function applyLoop(view, clock, probe, onEnd) {
  const m = probe;
  /** @type {StreamMessage[]} */
  let queue = [];
  /**
   * @param {boolean} inFrame called from an animation frame
   * @returns {((sharedMs: number) => void)|null}
   */
  const drain = (inFrame) => {
    if (queue.length === 0) return null;
    const batch = queue;
    queue = [];
    // The page's cost of this batch (applying it, and its share of the
    // layout the scroll forces) is measured when metrics are on.
    const t0 = m ? performance.now() : 0;
    // The ops of all messages since the last frame go in one apply, so an
    // open block replaced several times is drawn once.
    /** @type {UiOp[][]} */
    let pending = [];
    /** @type {UiOp[][]} */
    const applied = [];
    const applyPending = () => {
      if (pending.length === 0) return;
      const ops = pending.length === 1 ? pending[0] : pending.flat();
      pending = [];
      view.apply(ops);
      if (m) applied.push(ops);
    };
    for (const msg of batch) {
      if (msg.type === 'ops') {
        pending.push(msg.ops);
      } else {
        applyPending();
        if (m && applied.length) m.applied(applied.splice(0).flat(), performance.now() - t0, inFrame);
        view.finish(msg);
        m?.end();
        onEnd(msg);
      }
    }
    applyPending();
    if (!m || applied.length === 0) return null;
    const ms = performance.now() - t0;
    return (shared) => m.applied(applied.flat(), ms + shared, inFrame);
  };
  return (msg) => {
    queue.push(msg);
    clock.schedule(drain);
  };
}
