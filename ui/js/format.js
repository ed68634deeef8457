// @ts-check
/**
 * Pure helpers of the window: no DOM, no IPC. Tested with `node --test`.
 */

/** @typedef {import('../types/ipc').StreamEnd} StreamEnd */
/** @typedef {import('../types/ipc').ErrorInfo} ErrorInfo */
/** @typedef {import('../types/ipc').UiOp} UiOp */

/** @type {Record<string, string>} */
export const ERROR_TITLES = {
  auth: 'Authentication failed',
  not_found: 'Not found',
  rate_limited: 'Rate limited',
  bad_request: 'Request rejected',
  server: 'Server error',
  overloaded: 'Provider overloaded',
  network: 'Network error',
  timeout: 'Timed out',
  stream: 'Stream broken',
  keychain: 'Keychain unavailable',
};

/** @param {string} kind */
export function errorTitle(kind) {
  return ERROR_TITLES[kind] ?? 'Error';
}

/**
 * Drops `open` render operations that a later operation in the same batch
 * replaces anyway (another `open`, a completed `block`, or a `code_open`), so
 * the open block is rendered at most once per frame.
 * @template {{op: string}} T
 * @param {T[]} ops
 * @returns {T[]}
 */
export function coalesceOps(ops) {
  let superseded = false;
  const out = [];
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i];
    if (op.op === 'open') {
      if (superseded) continue;
      superseded = true;
    } else if (op.op === 'block' || op.op === 'code_open') {
      superseded = true;
    }
    out.push(op);
  }
  return out.reverse();
}

/**
 * What a key press in the composer means.
 * @param {{key: string, shiftKey?: boolean, ctrlKey?: boolean, metaKey?: boolean, altKey?: boolean, isComposing?: boolean}} ev
 * @returns {'send'|'cancel'|'new_chat'|null}
 */
export function composerKey(ev) {
  if (ev.isComposing) return null;
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.ctrlKey && !ev.metaKey && !ev.altKey) return 'send';
  if (ev.key === 'Escape') return 'cancel';
  return null;
}

/**
 * What a key press anywhere in the window means.
 * @param {{key: string, shiftKey?: boolean, ctrlKey?: boolean, metaKey?: boolean}} ev
 * @returns {'cancel'|'new_chat'|'search'|'delete_chat'|null}
 */
export function globalKey(ev) {
  const mod = ev.ctrlKey || ev.metaKey;
  if (ev.key === 'Escape') return 'cancel';
  if (mod && !ev.shiftKey && (ev.key === 'n' || ev.key === 'N')) return 'new_chat';
  if (mod && !ev.shiftKey && (ev.key === 'k' || ev.key === 'K')) return 'search';
  if (mod && ev.shiftKey && ev.key === 'Backspace') return 'delete_chat';
  return null;
}

/** @param {number|null|undefined} ms */
export function formatDuration(ms) {
  if (ms == null || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/**
 * The line under an answer and the data attributes of the `metrics` element.
 * @param {StreamEnd} end
 * @returns {{text: string, attrs: Record<string, string>}}
 */
export function formatMetrics(end) {
  const m = end.metrics;
  const est = end.usage_estimated ? '~' : '';
  const parts = [];
  if (end.finish_reason) parts.push(end.finish_reason);
  else if (end.status !== 'done') parts.push(end.status);
  if (m.ttft_ms != null) parts.push(`${formatDuration(m.ttft_ms)} to first token`);
  parts.push(`${formatDuration(m.total_ms)} total`);
  if (m.tokens_per_s != null) parts.push(`${est}${m.tokens_per_s.toFixed(1)} tok/s`);
  parts.push(`${est}${end.usage.input_tokens} in / ${est}${end.usage.output_tokens} out${end.usage_estimated ? ' (estimated)' : ''}`);
  const num = (/** @type {number|null|undefined} */ v, digits = 0) =>
    v == null || !Number.isFinite(v) ? '' : digits ? v.toFixed(digits) : String(Math.round(v));
  return {
    text: parts.join(' · '),
    attrs: {
      'data-finish-reason': end.finish_reason ?? '',
      'data-ttft-ms': num(m.ttft_ms),
      'data-total-ms': num(m.total_ms),
      'data-tokens-per-s': num(m.tokens_per_s, 1),
      // Empty when the server reported no usage (the line above shows the estimate).
      'data-input-tokens': end.usage_estimated ? '' : String(end.usage.input_tokens),
      'data-output-tokens': end.usage_estimated ? '' : String(end.usage.output_tokens),
      'data-usage-estimated': String(end.usage_estimated),
    },
  };
}

/**
 * The text of an error on an answer.
 * @param {ErrorInfo} err
 */
export function formatError(err) {
  const title = errorTitle(err.kind);
  // Engine messages often start with the same words: do not say them twice.
  let text = err.message.startsWith(title) ? err.message : `${title}: ${err.message}`;
  if (err.kind === 'rate_limited' && err.retry_after_s != null && !/retry after/i.test(err.message)) {
    text += ` (retry after ${err.retry_after_s} s)`;
  }
  return text;
}

/**
 * "Retrying in N s" for a retry notice.
 * @param {Extract<UiOp, {op: 'retrying'}>} op
 * @param {number} remainingMs
 */
export function formatRetrying(op, remainingMs) {
  const secs = Math.max(0, Math.ceil(remainingMs / 1000));
  return `Retrying in ${secs} s (attempt ${op.attempt} of ${op.max}): ${op.reason}`;
}

/** A random id, unique enough for conversations and streams. */
export function newId() {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Parses "Name: value" lines into headers; blank lines are skipped.
 * @param {string} text
 * @returns {{headers: Record<string, string>, error: string|null}}
 */
export function parseHeaders(text) {
  /** @type {Record<string, string>} */
  const headers = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return { headers, error: `Line ${i + 1} is not "Name: value"` };
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return { headers, error: null };
}

/** @param {Record<string, string>|undefined} headers */
export function formatHeaders(headers) {
  return Object.entries(headers ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n');
}

/**
 * The provider a conversation should use: the preferred one if it still
 * exists, else the default, else the environment's, else the first usable.
 * @template {{id: string, usable: boolean, from_env: boolean}} P
 * @param {P[]} providers
 * @param {string|null} defaultId
 * @param {string|null} preferredId
 * @returns {P|null}
 */
export function pickProvider(providers, defaultId, preferredId) {
  const byId = (/** @type {string|null} */ id) => (id ? providers.find((p) => p.id === id) ?? null : null);
  return byId(preferredId) ?? byId(defaultId) ?? providers.find((p) => p.from_env) ?? providers.find((p) => p.usable) ?? null;
}

/**
 * Splits a search snippet into plain and highlighted parts (the backend marks
 * matches with U+E000 … U+E001), so the page builds <mark> elements from text
 * and never parses HTML.
 * @param {string} snippet
 * @returns {{text: string, mark: boolean}[]}
 */
export function snippetParts(snippet) {
  /** @type {{text: string, mark: boolean}[]} */
  const parts = [];
  let mark = false;
  let buf = '';
  for (const ch of snippet) {
    if (ch === '\uE000' || ch === '\uE001') {
      if (buf) parts.push({ text: buf, mark });
      buf = '';
      mark = ch === '\uE000';
    } else {
      buf += ch;
    }
  }
  if (buf) parts.push({ text: buf, mark });
  return parts;
}

/**
 * A short date for the sidebar: the time today, the weekday this week, else the date.
 * @param {number} ms
 * @param {number} now
 */
export function formatDate(ms, now) {
  const d = new Date(ms);
  const n = new Date(now);
  const pad = (/** @type {number} */ x) => String(x).padStart(2, '0');
  if (d.toDateString() === n.toDateString()) return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (now - ms < 6 * 86_400_000 && now >= ms) return d.toLocaleDateString(undefined, { weekday: 'short' });
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
