// @ts-check
/**
 * The apply loop of one streaming answer. Channel messages are queued as they
 * arrive and applied at most once per animation frame (a timer covers a hidden
 * window, where animation frames may not run); the render operations of all
 * messages since the last frame go in one `apply`, so an open block replaced
 * several times is drawn once. Per-message work is a push onto the queue:
 * no state events, no DOM queries, nothing that grows with the answer.
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
 * Feeds one stream into its view.
 * @param {AssistantView} view the answer
 * @param {HTMLElement} list the message list: kept at its bottom when it was there
 * @param {StreamProbe|null} probe
 * @param {(end: StreamEnd) => void} onEnd called once the view shows the end
 * @returns {(msg: StreamMessage) => void} the channel's handler
 */
export function applyLoop(view, list, probe, onEnd) {
  const m = probe;
  /** @type {StreamMessage[]} */
  let queue = [];
  let scheduled = false;
  /** @param {boolean} inFrame called from an animation frame */
  const drain = (inFrame) => {
    scheduled = false;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    // The page's cost of this batch (applying it, and the layout the scroll
    // forces) is measured when metrics are on.
    const t0 = m ? performance.now() : 0;
    const stick = nearBottom(list);
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
    const measured = () => {
      if (m && applied.length) m.applied(applied.splice(0).flat(), performance.now() - t0, inFrame);
    };
    for (const msg of batch) {
      if (msg.type === 'ops') {
        pending.push(msg.ops);
      } else {
        applyPending();
        measured();
        view.finish(msg);
        m?.end();
        onEnd(msg);
      }
    }
    applyPending();
    if (stick) scrollToBottom(list);
    measured();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    // One DOM update per animation frame; the timer covers a hidden window,
    // where animation frames may not run.
    requestAnimationFrame(() => drain(true));
    setTimeout(() => drain(false), 100);
  };
  return (msg) => {
    queue.push(msg);
    schedule();
  };
}
