// @ts-check
/**
 * The network settings as the settings dialog shows them (seconds, counts,
 * text) and back (the backend's milliseconds), with what is wrong said in
 * the window's language. Pure: no DOM, no IPC (tested with `node --test`).
 */
import { formatNumber, t } from './i18n.js';

/** @typedef {import('../types/ipc').NetworkSettings} NetworkSettings */
/** @typedef {import('../types/ipc').ProxyMode} ProxyMode */

/**
 * The form's fields, as text.
 * @typedef {{connect: string, firstByte: string, idle: string, deadline: string, retries: string,
 *   backoff: string, proxyMode: string, proxyUrl: string, noProxy: string, proxyUser: string}} NetworkFields
 */

/** Milliseconds as seconds for a field ("" for none). @param {number|null|undefined} ms */
function seconds(ms) {
  return ms == null ? '' : String(Math.round(ms / 100) / 10);
}

/**
 * The fields showing `n`.
 * @param {NetworkSettings} n
 * @returns {NetworkFields}
 */
export function toFields(n) {
  return {
    connect: seconds(n.timeouts.connect_ms),
    firstByte: seconds(n.timeouts.first_byte_ms),
    idle: seconds(n.timeouts.idle_ms),
    deadline: seconds(n.timeouts.answer_deadline_ms ?? null),
    retries: String(n.retries.max_retries),
    backoff: String(n.retries.backoff_ms),
    proxyMode: n.proxy.mode,
    proxyUrl: n.proxy.url,
    noProxy: n.proxy.no_proxy,
    proxyUser: n.proxy.username,
  };
}

/**
 * "Default: 10 s" hints for each field.
 * @param {NetworkSettings} d the defaults
 */
export function defaultHints(d) {
  const s = (/** @type {number} */ ms) => t('net.default', { value: `${formatNumber(ms / 1000, ms % 1000 ? 1 : 0)} s` });
  return {
    connect: s(d.timeouts.connect_ms),
    firstByte: s(d.timeouts.first_byte_ms),
    idle: s(d.timeouts.idle_ms),
    deadline: t('net.default', { value: t('net.no_deadline') }),
    retries: t('net.default', { value: formatNumber(d.retries.max_retries) }),
    backoff: t('net.default', { value: `${formatNumber(d.retries.backoff_ms)} ms` }),
  };
}

/**
 * The settings the fields say, or what is wrong with them. Blank timeouts
 * take their default; a blank answer deadline means none.
 * @param {NetworkFields} f
 * @param {NetworkSettings} defaults
 * @returns {{network: NetworkSettings, error: null} | {network: null, error: string}}
 */
export function fromFields(f, defaults) {
  /**
   * @param {string} text
   * @param {string} name
   * @param {number} fallback ms
   * @returns {number|string} ms, or the error
   */
  const ms = (text, name, fallback) => {
    if (!text.trim()) return fallback;
    const v = Number(text.replace(',', '.'));
    if (!Number.isFinite(v) || v < 0.1) return t('net.bad_seconds', { name });
    return Math.round(v * 1000);
  };
  const connect = ms(f.connect, t('net.connect'), defaults.timeouts.connect_ms);
  const firstByte = ms(f.firstByte, t('net.first_byte'), defaults.timeouts.first_byte_ms);
  const idle = ms(f.idle, t('net.idle'), defaults.timeouts.idle_ms);
  const deadline = f.deadline.trim() ? ms(f.deadline, t('net.deadline'), 0) : null;
  for (const v of [connect, firstByte, idle, deadline]) if (typeof v === 'string') return { network: null, error: v };
  const retries = f.retries.trim() ? Number(f.retries) : defaults.retries.max_retries;
  if (!Number.isInteger(retries) || retries < 0) return { network: null, error: t('net.bad_count', { name: t('net.retries') }) };
  const backoff = f.backoff.trim() ? Number(f.backoff) : defaults.retries.backoff_ms;
  if (!Number.isInteger(backoff) || backoff < 0) return { network: null, error: t('net.bad_count', { name: t('net.backoff') }) };
  const mode = /** @type {ProxyMode} */ (['system', 'off', 'custom'].includes(f.proxyMode) ? f.proxyMode : 'system');
  if (mode === 'custom' && !f.proxyUrl.trim()) return { network: null, error: t('proxy.needs_url') };
  return {
    network: {
      timeouts: {
        connect_ms: /** @type {number} */ (connect),
        first_byte_ms: /** @type {number} */ (firstByte),
        idle_ms: /** @type {number} */ (idle),
        answer_deadline_ms: /** @type {number|null} */ (deadline),
      },
      retries: { max_retries: retries, backoff_ms: backoff },
      proxy: { mode, url: f.proxyUrl.trim(), no_proxy: f.noProxy.trim(), username: f.proxyUser.trim() },
    },
    error: null,
  };
}
