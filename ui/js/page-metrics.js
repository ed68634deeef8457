// @ts-check
/**
 * In-page measurement of the streaming pipeline, for the window benchmark.
 * Off unless the app runs with RUNNEL_PAGE_METRICS=1. The benchmark server
 * puts each token's send time (ms since the epoch) in the token as `t<ms>`;
 * this records, for every token, the time from that stamp to the next paint
 * after it entered the page, plus frame lengths, the page's cost per token
 * (applying the ops and the layout the scroll forces), and how fast Stop takes
 * effect. Results: `window.__runnelMetrics` (the latest stream's PageMetrics;
 * the benchmark calls its `summary()`), `window.__runnelCompareSummary()`
 * (the latest Compare's columns together), and `window.__runnelLastOpenMs`
 * (click to first paint of the last opened conversation).
 *
 * It hooks into the page from the side: `installPageMetrics` gives the
 * conversation view its measurement hooks once the provider state says
 * `page_metrics`; without them the view measures nothing.
 */

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./conversation-view.js').Instrumentation} Instrumentation */

const STAMP = /t(\d{13})/g;

/**
 * Stamps (ms) in a batch of render operations.
 * @param {{op: string, html?: string, text?: string, tail?: string}[]} ops
 * @returns {number[]}
 */
export function stampsIn(ops) {
  const out = [];
  for (const op of ops) {
    // A code block's highlighted lines come with its unfinished line.
    const s = (op.html ?? op.text ?? '') + (op.tail ?? '');
    for (const m of s.matchAll(STAMP)) out.push(Number(m[1]));
  }
  return out;
}

/**
 * @param {ArrayLike<number>} v sorted
 * @param {number} p
 */
function pct(v, p) {
  if (v.length === 0) return null;
  return v[Math.round((v.length - 1) * p)];
}

/**
 * A sorted copy (one sort for all of a summary's percentiles).
 * @param {number[]} v
 */
function sorted(v) {
  return Float64Array.from(v).sort();
}

export class PageMetrics {
  constructor() {
    /** @type {number[]} send-to-paint per token, ms */
    this.latency = [];
    /** @type {number[]} apply cost per token, ms, in arrival order */
    this.costPerToken = [];
    /** @type {number[]} frame lengths while streaming, ms */
    this.frames = [];
    this.lastStamp = 0;
    this.lastPaintOfLastToken = 0;
    this.streaming = false;
    /** @type {number|null} when the stream started and ended (performance.now()) */
    this.startedAt = null;
    /** @type {number|null} */ this.endedAt = null;
    /** @type {number|null} */ this.cancelAt = null;
    /** @type {number|null} */ this.cancelDoneAt = null;
    this.changesAfterEnd = 0;
    this.ended = false;
  }

  /**
   * A stream starts: frame timing runs until it ends.
   * @param {boolean} [frames] time the frames (one of Compare's columns does)
   */
  start(frames = true) {
    this.streaming = true;
    this.startedAt = performance.now();
    if (!frames) return;
    let prev = performance.now();
    const loop = () => {
      const now = performance.now();
      this.frames.push(now - prev);
      prev = now;
      if (this.streaming) requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  }

  /**
   * Ops were applied (taking `applyMs`). Their tokens count as painted when
   * the frame that draws them is done: from inside an animation-frame callback
   * (`inFrame`) that is the first task after this frame; otherwise the first
   * task after the next frame.
   * @param {{op: string, html?: string, text?: string, tail?: string}[]} ops
   * @param {number} applyMs
   * @param {boolean} inFrame
   */
  applied(ops, applyMs, inFrame) {
    if (this.ended) this.changesAfterEnd += ops.length;
    const fresh = stampsIn(ops).filter((s) => s > this.lastStamp);
    if (fresh.length === 0) return;
    this.lastStamp = Math.max(...fresh);
    for (let i = 0; i < fresh.length; i++) this.costPerToken.push(applyMs / fresh.length);
    const painted = () => {
      const paint = Date.now();
      for (const s of fresh) this.latency.push(paint - s);
      this.lastPaintOfLastToken = paint;
    };
    if (inFrame) setTimeout(painted, 0);
    else requestAnimationFrame(() => setTimeout(painted, 0));
  }

  cancelled() {
    this.cancelAt = performance.now();
  }

  end() {
    this.streaming = false;
    this.ended = true;
    this.endedAt = performance.now();
    if (this.cancelAt !== null && this.cancelDoneAt === null) this.cancelDoneAt = performance.now();
  }

  /** How long the stream ran, start to end (ms; null until it ends). */
  streamedMs() {
    return this.startedAt !== null && this.endedAt !== null ? Math.round(this.endedAt - this.startedAt) : null;
  }

  summary() {
    const latency = sorted(this.latency);
    const n = this.costPerToken.length;
    const tenth = Math.max(1, Math.floor(n / 10));
    const mean = (/** @type {number[]} */ v) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0);
    const first = mean(this.costPerToken.slice(0, tenth));
    const last = mean(this.costPerToken.slice(n - tenth));
    // Frames cover the page's whole work (style, layout, paint), not only
    // the ops applied in script: do they get longer as the answer grows?
    const f = this.frames.length;
    const fTenth = Math.max(1, Math.floor(f / 10));
    return {
      tokens_painted: this.latency.length,
      streamed_ms: this.streamedMs(),
      paint_p50_ms: pct(latency, 0.5),
      paint_p99_ms: pct(latency, 0.99),
      frames: f,
      frames_over_50ms: this.frames.filter((ms) => ms > 50).length,
      max_frame_ms: f ? Math.max(...this.frames) : null,
      frame_ms_first_10pct: f ? mean(this.frames.slice(0, fTenth)) : null,
      frame_ms_last_10pct: f ? mean(this.frames.slice(f - fTenth)) : null,
      final_lag_ms: this.lastStamp ? this.lastPaintOfLastToken - this.lastStamp : null,
      cost_per_token_first_10pct_ms: first,
      cost_per_token_last_10pct_ms: last,
      cost_ratio_last_vs_first: first > 0 ? last / first : null,
      cancel_to_stopped_ms: this.cancelAt !== null && this.cancelDoneAt !== null ? this.cancelDoneAt - this.cancelAt : null,
      changes_after_end: this.changesAfterEnd,
    };
  }
}

/**
 * Measures streams and opens when the app runs with RUNNEL_PAGE_METRICS=1
 * (`state.ui.page_metrics`).
 * @param {AppState} state
 * @param {{instrument: (hooks: Instrumentation|null) => void}} target the conversation view
 */
export function installPageMetrics(state, target) {
  const page = /** @type {any} */ (window);
  /** The latest stream's metrics (Stop counts for it). @type {PageMetrics|null} */
  let latest = null;
  /** @type {Instrumentation} */
  const hooks = {
    streamStarted() {
      const m = new PageMetrics();
      latest = m;
      page.__runnelMetrics = m;
      m.start();
      return m;
    },
    compareStarted(n) {
      const columns = Array.from({ length: n }, () => new PageMetrics());
      columns.forEach((m, i) => m.start(i === 0));
      page.__runnelCompareSummary = () => compareSummary(columns);
      return columns;
    },
    streamCancelled() {
      latest?.cancelled();
    },
    opened(openedAt) {
      // Click to first paint of the conversation (the window benchmark reads it).
      requestAnimationFrame(() => {
        page.__runnelLastOpenMs = performance.now() - openedAt;
      });
    },
  };
  state.on('ui', (ui) => target.instrument(ui?.page_metrics ? hooks : null));
}

/**
 * Compare's columns measured together: every column's tokens in one
 * send-to-paint distribution, the frames (timed once, by the first column),
 * and how many columns ended.
 * @param {PageMetrics[]} columns
 */
export function compareSummary(columns) {
  const latency = columns.flatMap((m) => m.latency);
  const sortedLatency = sorted(latency);
  const frames = columns[0]?.frames ?? [];
  return {
    columns: columns.length,
    ended: columns.filter((m) => m.ended).length,
    tokens_painted: latency.length,
    tokens_per_column: columns.map((m) => m.latency.length),
    // How long each column streamed: a column slowed at the source (the
    // page not keeping up holds the connection back) would flatter the rest.
    streamed_ms: columns.map((m) => m.streamedMs()),
    paint_p50_ms: pct(sortedLatency, 0.5),
    paint_p99_ms: pct(sortedLatency, 0.99),
    frames: frames.length,
    frames_over_50ms: frames.filter((ms) => ms > 50).length,
    frames_over_100ms: frames.filter((ms) => ms > 100).length,
    max_frame_ms: frames.length ? Math.max(...frames) : null,
  };
}

/**
 * Marks when the sidebar is on screen (`body[data-painted-at]`, ms since the
 * epoch; the window benchmark reads it) and the language and theme that
 * frame was drawn in (`body[data-painted-in]`, `lang theme`; the window
 * tests read it); resolves once that frame is painted.
 * @returns {Promise<void>}
 */
export function markSidebarPainted() {
  return new Promise((resolve) => {
    requestAnimationFrame(() => {
      const root = document.documentElement;
      document.body.dataset.paintedIn = `${root.lang} ${root.dataset.theme ?? 'system'}`;
      document.body.dataset.paintedAt = String(Date.now());
      // The frame paints when this callback returns; a task after it runs after the paint.
      setTimeout(resolve, 0);
    });
  });
}
