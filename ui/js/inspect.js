// @ts-check
/**
 * The Inspect panel of an answer: what went over the wire. A timeline of the
 * events over time (first token, stalls over 500 ms and retries marked), the
 * request and response, the events with their raw payloads (searchable),
 * "copy as curl" (the key left as an environment variable) and export as the
 * bytes received (.sse) or JSON lines. Every payload enters as text.
 */
import * as ipc from './ipc.js';
import { copyText, el, iconButton } from './dom.js';
import { formatDuration } from './format.js';
import { t } from './i18n.js';

/** @typedef {import('../types/ipc').TraceLine} TraceLine */
/** @typedef {import('../types/ipc').TraceView} TraceView */
/** @typedef {import('./banners.js').Notices} Notices */

/** A gap between events longer than this is a stall. */
export const STALL_MS = 500;
/** Most event rows drawn at once (search narrows them). */
export const MAX_ROWS = 2000;
/** Most points of the timeline's curve. */
const MAX_POINTS = 600;
const SVG = 'http://www.w3.org/2000/svg';

/**
 * What the timeline marks: the time of each event, the first token, the
 * stalls (gaps over STALL_MS) and the retries.
 * @param {TraceLine[]} lines
 */
export function timelineOf(lines) {
  /** @type {number[]} */
  const events = [];
  /** @type {number[]} */
  const retries = [];
  let end = 0;
  let dropped = 0;
  for (const l of lines) {
    end = Math.max(end, l.t_ms);
    if (l.kind === 'event') events.push(l.t_ms);
    else if (l.kind === 'retry') retries.push(l.t_ms);
    else if (l.kind === 'end') dropped = l.dropped_events;
  }
  /** @type {{from: number, to: number}[]} */
  const stalls = [];
  for (let i = 1; i < events.length; i++) {
    if (events[i] - events[i - 1] > STALL_MS) stalls.push({ from: events[i - 1], to: events[i] });
  }
  return { events, retries, stalls, first: events.length ? events[0] : null, end, dropped };
}

/**
 * The rows an event search keeps: events and comments whose text holds the
 * query (any case), at most `limit`.
 * @param {TraceLine[]} lines
 * @param {string} query
 * @param {number} [limit]
 */
export function matchingEvents(lines, query, limit = MAX_ROWS) {
  const q = query.trim().toLowerCase();
  /** @type {TraceLine[]} */
  const out = [];
  let total = 0;
  for (const l of lines) {
    if (l.kind !== 'event' && l.kind !== 'comment') continue;
    const text = l.kind === 'event' ? `${l.event ?? ''} ${l.data}` : l.text;
    if (q && !text.toLowerCase().includes(q)) continue;
    total++;
    if (out.length < limit) out.push(l);
  }
  return { rows: out, total };
}

/** @param {string} name @param {Record<string, string>} attrs */
function svg(name, attrs) {
  const n = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  return n;
}

/** @param {TraceLine[]} lines */
function drawTimeline(lines) {
  const tl = timelineOf(lines);
  const W = 600;
  const H = 64;
  const span = Math.max(tl.end, 1);
  const x = (/** @type {number} */ ms) => ((ms / span) * W).toFixed(1);
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'inspect-timeline', 'data-testid': 'inspect-timeline', role: 'img',
    'aria-label': t('inspect.timeline', { n: String(tl.events.length), d: formatDuration(tl.end) }),
  });
  for (const s of tl.stalls) {
    root.append(svg('rect', {
      x: x(s.from), y: '0', width: String(Math.max(1, Number(x(s.to)) - Number(x(s.from)))), height: String(H),
      class: 'stall', 'data-testid': 'inspect-stall',
    }));
  }
  // Events over time: the curve of how many had arrived.
  const step = Math.max(1, Math.ceil(tl.events.length / MAX_POINTS));
  const pts = [`0,${H}`];
  for (let i = 0; i < tl.events.length; i += step) {
    pts.push(`${x(tl.events[i])},${(H - ((i + 1) / tl.events.length) * (H - 4)).toFixed(1)}`);
  }
  if (tl.events.length) pts.push(`${x(tl.events[tl.events.length - 1])},4`);
  root.append(svg('polyline', { points: pts.join(' '), class: 'curve' }));
  if (tl.first != null) {
    root.append(svg('line', { x1: x(tl.first), x2: x(tl.first), y1: '0', y2: String(H), class: 'ttft', 'data-testid': 'inspect-ttft' }));
  }
  for (const r of tl.retries) {
    root.append(svg('line', { x1: x(r), x2: x(r), y1: '0', y2: String(H), class: 'retry', 'data-testid': 'inspect-retry' }));
  }
  return { root, tl };
}

/** @param {TraceLine} l */
function row(l) {
  const time = el('span', { class: 'time' }, `${l.t_ms.toFixed(1)} ms`);
  if (l.kind === 'comment') {
    return el('li', { 'data-testid': 'inspect-event', class: 'comment' }, [time, el('span', { class: 'name' }, ':'), el('code', {}, l.text)]);
  }
  if (l.kind !== 'event') return el('li');
  return el('li', { 'data-testid': 'inspect-event' }, [
    time, el('span', { class: 'name' }, l.event ?? ''), el('code', {}, l.data),
  ]);
}

/** @param {TraceLine[]} lines */
function exchange(lines) {
  const parts = [];
  for (const l of lines) {
    if (l.kind === 'request') {
      parts.push(`${l.method} ${l.url}\n${l.headers.map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${l.body}`);
    } else if (l.kind === 'response') {
      parts.push(`HTTP ${l.status} (${l.t_ms.toFixed(1)} ms)\n${l.headers.map(([k, v]) => `${k}: ${v}`).join('\n')}${l.body ? `\n\n${l.body}` : ''}`);
    } else if (l.kind === 'retry') {
      parts.push(t('inspect.retry', { n: String(l.attempt), reason: l.reason }));
    } else if (l.kind === 'end') {
      parts.push(`${l.status}${l.error ? `: ${l.error.message}` : ''}`);
    }
  }
  return parts.join('\n\n');
}

/**
 * Opens the panel for answer `id`.
 * @param {string} id
 * @param {Notices} notices
 */
export async function openInspect(id, notices) {
  /** @type {TraceView} */
  let view;
  try {
    view = await ipc.messageTrace(id);
  } catch (e) {
    notices.showError(e);
    return;
  }
  document.getElementById('inspect')?.remove();
  const { root: timeline, tl } = drawTimeline(view.lines);
  const summary = el('p', { class: 'inspect-summary', 'data-testid': 'inspect-summary' }, [
    t('inspect.summary', {
      n: String(tl.events.length),
      ttft: tl.first == null ? '-' : formatDuration(tl.first),
      d: formatDuration(tl.end),
      stalls: String(tl.stalls.length),
    }),
    tl.dropped ? ` · ${t('inspect.dropped', { n: String(tl.dropped) })}` : '',
  ]);
  const search = el('input', {
    type: 'search', 'data-testid': 'inspect-search', placeholder: t('inspect.search'), 'aria-label': t('inspect.search'),
  });
  const list = el('ol', { class: 'inspect-events', 'data-testid': 'inspect-events' });
  const more = el('p', { class: 'hint', 'data-testid': 'inspect-more' });
  const render = () => {
    const { rows, total } = matchingEvents(view.lines, /** @type {HTMLInputElement} */ (search).value);
    list.replaceChildren(...rows.map(row));
    more.textContent = total > rows.length ? t('inspect.more', { n: String(total - rows.length) }) : '';
  };
  search.addEventListener('input', render);
  const curl = el('button', { type: 'button', 'data-testid': 'inspect-curl' }, t('inspect.curl'));
  curl.addEventListener('click', () => {
    if (view.curl) copyText(view.curl).then(() => notices.toast(t('inspect.curl_copied')));
  });
  if (!view.curl) curl.setAttribute('disabled', '');
  const exports = /** @type {const} */ (['sse', 'jsonl']).map((format) => {
    const b = el('button', { type: 'button', 'data-testid': `inspect-export-${format}` }, t(format === 'sse' ? 'inspect.export_sse' : 'inspect.export_jsonl'));
    b.addEventListener('click', async () => {
      try {
        const path = await ipc.exportTrace(id, format);
        if (path) notices.toast(t('transfer.exported', { path }));
      } catch (e) {
        notices.showError(e);
      }
    });
    return b;
  });
  const close = iconButton('x', t('inspect.close'), { 'data-testid': 'inspect-close' });
  const dialog = el('dialog', { id: 'inspect', class: 'inspect', 'data-testid': 'inspect', 'aria-labelledby': 'inspect-title' }, [
    el('div', { class: 'dialog-head' }, [el('h2', { id: 'inspect-title' }, t('inspect.title')), close]),
    el('div', { class: 'inspect-body' }, [
      summary, timeline,
      el('div', { class: 'inspect-tools' }, [search, curl, ...exports]),
      el('details', { class: 'inspect-exchange' }, [
        el('summary', {}, t('inspect.exchange')),
        el('pre', { 'data-testid': 'inspect-exchange' }, exchange(view.lines)),
      ]),
      list, more,
    ]),
  ]);
  const d = /** @type {HTMLDialogElement} */ (dialog);
  close.addEventListener('click', () => d.close());
  d.addEventListener('close', () => d.remove());
  document.body.append(d);
  render();
  d.showModal();
  /** @type {HTMLInputElement} */ (search).focus();
}
