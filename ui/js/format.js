// @ts-check
/**
 * Pure helpers of the window: no DOM, no IPC. Tested with `node --test`.
 */

import { formatDateTime, formatNumber, t } from './i18n.js';

/** @typedef {import('../types/ipc').StreamEnd} StreamEnd */
/** @typedef {import('../types/ipc').Cost} Cost */
/** @typedef {import('../types/ipc').ErrorInfo} ErrorInfo */
/** @typedef {import('../types/ipc').UiOp} UiOp */

/** The catalog key of each error kind's title. */
export const ERROR_TITLES = /** @type {const} */ ({
  auth: 'error.auth',
  not_found: 'error.not_found',
  rate_limited: 'error.rate_limited',
  bad_request: 'error.bad_request',
  server: 'error.server',
  overloaded: 'error.overloaded',
  network: 'error.network',
  timeout: 'error.timeout',
  stream: 'error.stream',
  keychain: 'error.keychain',
  model: 'error.model',
});

/** @param {string} kind */
export function errorTitle(kind) {
  const key = /** @type {Record<string, import('./i18n.js').Key>} */ (ERROR_TITLES)[kind];
  return t(key ?? 'error.other');
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
 * @returns {'cancel'|'new_chat'|'search'|'delete_chat'|'toggle_sidebar'|null}
 */
export function globalKey(ev) {
  const mod = ev.ctrlKey || ev.metaKey;
  if (ev.key === 'Escape') return 'cancel';
  if (mod && !ev.shiftKey && (ev.key === 'n' || ev.key === 'N')) return 'new_chat';
  if (mod && !ev.shiftKey && (ev.key === 'k' || ev.key === 'K')) return 'search';
  if (mod && ev.shiftKey && ev.key === 'Backspace') return 'delete_chat';
  if (mod && !ev.shiftKey && (ev.key === 'b' || ev.key === 'B')) return 'toggle_sidebar';
  return null;
}

/** @param {number|null|undefined} ms */
export function formatDuration(ms) {
  if (ms == null || !Number.isFinite(ms)) return '';
  if (ms < 1000) return t('unit.ms', { n: formatNumber(Math.round(ms)) });
  if (ms < 60_000) return t('unit.s', { n: formatNumber(ms / 1000, ms < 10_000 ? 2 : 1) });
  const m = Math.floor(ms / 60_000);
  return t('unit.min_s', { m: formatNumber(m), s: formatNumber(Math.round((ms % 60_000) / 1000)) });
}

/**
 * Catalog keys of the finish reasons providers send (others are shown as sent).
 * @type {Record<string, import('./i18n.js').Key>}
 */
const FINISH = {
  stop: 'finish.stop', length: 'finish.length', tool_calls: 'finish.tool_calls', content_filter: 'finish.content_filter',
};
/** @type {Record<string, import('./i18n.js').Key>} */
const STATUS = {
  cancelled: 'status.cancelled', error: 'status.error', interrupted: 'status.interrupted', streaming: 'status.streaming',
};

/**
 * A cost in US dollars: four decimals, six under a cent, `~` in front when
 * it rests on estimated token counts.
 * @param {Cost} cost
 */
export function formatCost(cost) {
  const usd = cost.usd !== 0 && Math.abs(cost.usd) < 0.01 ? cost.usd.toFixed(6) : cost.usd.toFixed(4);
  return t('metrics.cost', { est: cost.estimated ? '~' : '', usd });
}

/**
 * The sum of two costs (either may be missing); estimated if either is.
 * @param {Cost|null} a
 * @param {Cost|null} b
 * @returns {Cost|null}
 */
export function addCost(a, b) {
  if (!a) return b;
  if (!b) return a;
  return { usd: a.usd + b.usd, estimated: a.estimated || b.estimated };
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
  if (end.finish_reason) parts.push(FINISH[end.finish_reason] ? t(FINISH[end.finish_reason]) : end.finish_reason);
  else if (end.status !== 'done') parts.push(STATUS[end.status] ? t(STATUS[end.status]) : end.status);
  if (m.ttft_ms != null) parts.push(t('metrics.ttft', { d: formatDuration(m.ttft_ms) }));
  parts.push(t('metrics.total', { d: formatDuration(m.total_ms) }));
  if (m.tokens_per_s != null) parts.push(t('metrics.rate', { est, n: formatNumber(m.tokens_per_s, 1) }));
  const tokens = { est, input: formatNumber(end.usage.input_tokens), output: formatNumber(end.usage.output_tokens) };
  parts.push(t(end.usage_estimated ? 'metrics.tokens_estimated' : 'metrics.tokens', tokens));
  if (end.cost) parts.push(formatCost(end.cost));
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
      // USD at today's prices; empty when the model has no known price.
      'data-cost-usd': end.cost ? String(end.cost.usd) : '',
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
    text += ` ${t('error.retry_after', { s: err.retry_after_s })}`;
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
  return t('stream.retrying', { s: secs, attempt: op.attempt, max: op.max, reason: op.reason });
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
    if (colon <= 0) return { headers, error: t('editor.headers_bad_line', { n: i + 1 }) };
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return { headers, error: null };
}

/** @param {Record<string, string>|undefined} headers */
export function formatHeaders(headers) {
  return Object.entries(headers ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n');
}

/**
 * The provider a conversation should use, in the order a new chat picks one:
 * the one picked for it if it still exists; else the environment's
 * (OPENAI_BASE_URL, OPENAI_API_KEY, ANTHROPIC_API_KEY), even when it lacks a
 * key, since its banner says how to set one (as the core's unnamed provider);
 * else the saved default if it is usable; else an installed local model;
 * else the default even so (its row says what it lacks), else none
 * (onboarding).
 * @template {{id: string, usable: boolean, from_env: boolean, provider?: {kind: string}}} P
 * @param {P[]} providers
 * @param {string|null} defaultId
 * @param {string|null} preferredId
 * @returns {P|null}
 */
export function pickProvider(providers, defaultId, preferredId) {
  const byId = (/** @type {string|null} */ id) => (id ? providers.find((p) => p.id === id) ?? null : null);
  const usable = (/** @type {P|null} */ p) => (p?.usable ? p : null);
  return byId(preferredId)
    ?? providers.find((p) => p.from_env)
    ?? usable(byId(defaultId))
    ?? providers.find((p) => p.usable && p.provider?.kind === 'local')
    ?? byId(defaultId)
    ?? null;
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
 * A short date for the sidebar, in the window's language: the time today,
 * the weekday this week, else the date.
 * @param {number} ms
 * @param {number} now
 */
export function formatDate(ms, now) {
  const d = new Date(ms);
  const n = new Date(now);
  if (d.toDateString() === n.toDateString()) return formatDateTime(d, { hour: '2-digit', minute: '2-digit', hour12: false });
  if (now - ms < 6 * 86_400_000 && now >= ms) return formatDateTime(d, { weekday: 'short' });
  return formatDateTime(d, { year: 'numeric', month: '2-digit', day: '2-digit' });
}

/**
 * The sidebar group of a conversation last changed at `ms` (local time):
 * `pinned`, `today`, `yesterday`, `week` (the five days before yesterday),
 * else its month as `month:YYYY-MM`. A time after `now` (a clock that went
 * back) counts as today.
 * @param {number} ms
 * @param {number} now
 * @param {boolean} pinned
 * @returns {string}
 */
export function dateGroup(ms, now, pinned) {
  if (pinned) return 'pinned';
  const n = new Date(now);
  const midnight = new Date(n.getFullYear(), n.getMonth(), n.getDate()).getTime();
  // Local calendar days back (DST-safe: counted on dates, not 24 h steps).
  const d = new Date(ms);
  const day = new Date(d.getFullYear(), d.getMonth(), d.getDate());
  const back = Math.round((midnight - day.getTime()) / 86_400_000);
  if (back <= 0) return 'today';
  if (back === 1) return 'yesterday';
  if (back < 7) return 'week';
  return `month:${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
}

/**
 * The heading of a `dateGroup`.
 * @param {string} group
 */
export function dateGroupLabel(group) {
  if (group.startsWith('month:')) {
    const [y, m] = group.slice(6).split('-').map(Number);
    return formatDateTime(new Date(y, m - 1, 1), { year: 'numeric', month: 'long' });
  }
  return t(/** @type {import('./i18n.js').Key} */ (`sidebar.group_${group}`));
}

/**
 * The search filter the filter fields describe (dates as `YYYY-MM-DD` in
 * local time, the end date included), or null when none is set.
 * @param {{role: string, provider: string, model: string, since: string, until: string}} fields
 * @returns {import('../types/ipc').SearchFilter|null}
 */
export function searchFilter(fields) {
  /** @param {string} s @param {number} plusDays */
  const day = (s, plusDays) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays).getTime() : null;
  };
  /** @type {import('../types/ipc').Role|null} */
  const role = fields.role === 'user' || fields.role === 'assistant' ? fields.role : null;
  const filter = {
    provider: fields.provider || null,
    model: fields.model.trim() || null,
    role,
    since: day(fields.since, 0),
    until: day(fields.until, 1),
  };
  return Object.values(filter).some((v) => v !== null) ? filter : null;
}

/** How many recently used provider·model pairs the picker remembers. */
export const RECENT_LIMIT = 8;

/**
 * The recent list after `entry` was used: it moves to the front, once.
 * @param {readonly string[]} recent
 * @param {string} entry
 */
export function recordRecent(recent, entry) {
  return [entry, ...recent.filter((r) => r !== entry)].slice(0, RECENT_LIMIT);
}

/**
 * One provider's models for the picker: those matching `query` (any order of
 * its words, case-insensitive), recently used ones first (most recent first),
 * then the rest as listed.
 * @param {readonly string[]} models
 * @param {string} query
 * @param {string} providerId
 * @param {readonly string[]} recent "provider\nmodel" pairs, most recent first
 */
export function rankModels(models, query, providerId, recent) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const matches = [...new Set(models)].filter((m) => words.every((w) => m.toLowerCase().includes(w)));
  const rank = (/** @type {string} */ m) => {
    const i = recent.indexOf(`${providerId}\n${m}`);
    return i < 0 ? Infinity : i;
  };
  return matches
    .map((m, i) => ({ m, i, r: rank(m) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.m);
}

/** The sidebar's width in pixels: its default and the range it can be dragged to. */
export const SIDEBAR_WIDTH = Object.freeze({ min: 200, default: 264, max: 480 });

/**
 * A sidebar width inside its range (the default for anything not a number).
 * @param {number} width
 */
export function clampSidebarWidth(width) {
  if (!Number.isFinite(width)) return SIDEBAR_WIDTH.default;
  return Math.round(Math.min(SIDEBAR_WIDTH.max, Math.max(SIDEBAR_WIDTH.min, width)));
}

/**
 * The key status of a provider as the window shows it (`api-key-status`):
 * "not set", or "set ····1234" with where it lives when not in the keychain.
 * @param {import('../types/ipc').KeyStatus} key
 * @param {boolean} fromEnv the environment's provider
 */
export function keyLabel(key, fromEnv) {
  if (!key.set) return t('key.not_set');
  const label = t('key.set', { tail: key.last4 ? ` ····${key.last4}` : '' });
  if (fromEnv) return `${label} ${t('key.from_env')}`;
  return key.saved ? label : `${label} ${t('key.session_only')}`;
}

/**
 * Why a provider cannot be used, in the window's language when the window
 * knows the case (a saved provider without its key); otherwise the backend's
 * own diagnosis (a keychain error, the environment's provider), as it came.
 * @param {{name: string, id: string, needs_key: boolean, from_env: boolean, usable: boolean,
 *   problem: string|null, key: {set: boolean, problem: string|null}}} p
 * @returns {{text: string, backend: boolean}|null}
 */
export function providerProblem(p) {
  if (p.usable) return null;
  if (p.needs_key && !p.key.set && !p.key.problem && !p.from_env) {
    return { text: t('provider.no_key', { name: p.name, id: p.id }), backend: false };
  }
  return p.problem ? { text: p.problem, backend: true } : null;
}

/**
 * A size for people: `1.1 GB`, `271 MB`, `12 KB` (decimal units, as disks
 * and the backend's messages count them).
 * @param {number} n bytes
 */
export function formatBytes(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${Math.round(n / 1e6)} MB`;
  return `${Math.max(1, Math.round(n / 1e3))} KB`;
}

/**
 * A download's progress line: `123 MB of 1.1 GB · 12 MB/s · 1 min left`,
 * and its percent (null while the size is unknown).
 * @param {{done: number, total: number|null, bytes_per_s: number, eta_s: number|null}} p
 * @returns {{text: string, percent: number|null}}
 */
export function formatDownload(p) {
  const rate = `${formatBytes(p.bytes_per_s)}/s`;
  if (!p.total) return { text: `${formatBytes(p.done)} · ${rate}`, percent: null };
  const percent = Math.min(100, Math.floor((p.done * 100) / p.total));
  const parts = [t('download.of', { done: formatBytes(p.done), total: formatBytes(p.total) }), rate];
  if (p.eta_s != null) parts.push(t('download.left', { time: formatDuration(p.eta_s * 1000) }));
  return { text: parts.join(' · '), percent };
}
