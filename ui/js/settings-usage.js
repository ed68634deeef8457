// @ts-check
/**
 * Settings, "Usage and prices": tokens and cost per day and per model over a
 * chosen range (a small SVG bar chart, no library), the price table with
 * each built-in price's source and the user's own prices (set, remove), and
 * whether answers keep their exchange. Loaded with the settings dialog.
 */
import * as ipc from './ipc.js';
import { formatCost, formatError } from './format.js';
import { $, el, iconButton } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('../types/ipc').UiState} UiState */
/** @typedef {import('../types/ipc').UsageReport} UsageReport */
/** @typedef {import('../types/ipc').UsageLine} UsageLine */
/** @typedef {import('../types/ipc').PriceEntry} PriceEntry */

const DAY_MS = 86_400_000;
/** @param {number} n */
const formatNumber = (n) => n.toLocaleString();
const SVG = 'http://www.w3.org/2000/svg';

/**
 * The start of a range of `days` days ending today (local midnight), or
 * null for everything.
 * @param {number} days 0: everything
 * @param {Date} [now]
 */
export function rangeStart(days, now = new Date()) {
  if (!days) return null;
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  return midnight.getTime() - (days - 1) * DAY_MS;
}

/**
 * Per day: the cost (or, where no answer has a price, nothing) and tokens,
 * in day order.
 * @param {UsageLine[]} days
 * @returns {{day: string, usd: number, tokens: number}[]}
 */
export function dailyTotals(days) {
  /** @type {Map<string, {day: string, usd: number, tokens: number}>} */
  const by = new Map();
  for (const d of days) {
    const e = by.get(d.day) ?? { day: d.day, usd: 0, tokens: 0 };
    e.usd += d.cost?.usd ?? 0;
    e.tokens += d.input_tokens + d.output_tokens;
    by.set(d.day, e);
  }
  return [...by.values()].sort((a, b) => (a.day < b.day ? -1 : 1));
}

/**
 * A bar chart of the days' cost (tokens when nothing is priced).
 * @param {{day: string, usd: number, tokens: number}[]} days
 */
function chart(days) {
  const W = 600;
  const H = 80;
  const byCost = days.some((d) => d.usd > 0);
  const value = (/** @type {{usd: number, tokens: number}} */ d) => (byCost ? d.usd : d.tokens);
  const max = Math.max(...days.map(value), 0) || 1;
  const root = document.createElementNS(SVG, 'svg');
  root.setAttribute('viewBox', `0 0 ${W} ${H}`);
  root.setAttribute('class', 'usage-chart');
  root.setAttribute('data-testid', 'usage-chart');
  root.setAttribute('role', 'img');
  root.setAttribute('aria-label', t(byCost ? 'usage.chart_cost' : 'usage.chart_tokens', { n: String(days.length) }));
  const w = W / Math.max(days.length, 1);
  days.forEach((d, i) => {
    const h = Math.max(1, (value(d) / max) * (H - 2));
    const bar = document.createElementNS(SVG, 'rect');
    bar.setAttribute('x', (i * w + w * 0.1).toFixed(1));
    bar.setAttribute('width', Math.max(1, w * 0.8).toFixed(1));
    bar.setAttribute('y', (H - h).toFixed(1));
    bar.setAttribute('height', h.toFixed(1));
    bar.setAttribute('data-testid', 'usage-bar');
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `${d.day}: ${byCost ? formatCost({ usd: d.usd, estimated: false }) : formatNumber(d.tokens)}`;
    bar.append(title);
    root.append(bar);
  });
  return root;
}

/** @param {UsageLine} l */
function usageRow(l) {
  return el('tr', { 'data-testid': 'usage-row', 'data-model': l.model, 'data-provider': l.provider }, [
    el('td', {}, `${l.provider || '?'} · ${l.model || '?'}`),
    el('td', { class: 'num' }, formatNumber(l.answers)),
    el('td', { class: 'num' }, formatNumber(l.input_tokens)),
    el('td', { class: 'num' }, formatNumber(l.output_tokens)),
    el('td', { class: 'num', 'data-cost-usd': l.cost ? String(l.cost.usd) : '' }, l.cost ? formatCost(l.cost) : '-'),
  ]);
}

/**
 * @param {{state: AppState, refresh: () => Promise<UiState>}} host
 */
export function createUsageSettings(host) {
  const range = /** @type {HTMLSelectElement} */ ($('usage-range'));
  const out = $('usage-report');
  const prices = $('price-list');
  const form = /** @type {HTMLFormElement} */ ($('price-form'));
  const error = $('price-error');
  const traceOn = /** @type {HTMLInputElement} */ ($('trace-enabled'));
  const traceCap = /** @type {HTMLInputElement} */ ($('trace-cap'));

  /** @type {UsageReport|null} the last report, drawn again after a language switch */
  let lastReport = null;
  /** @type {PriceEntry[]|null} */
  let lastPrices = null;

  async function report() {
    try {
      lastReport = await ipc.usageReport(rangeStart(Number(range.value)), -new Date().getTimezoneOffset());
      drawReport(lastReport);
    } catch (e) {
      out.replaceChildren(el('p', { class: 'error-text', role: 'alert' }, formatError(/** @type {any} */ (e))));
    }
  }

  /** @param {UsageReport} r */
  function drawReport(r) {
    {
      if (!r.total.answers) {
        out.replaceChildren(el('p', { class: 'hint', 'data-testid': 'usage-empty' }, t('usage.empty')));
        return;
      }
      const head = el('tr', {}, ['usage.model', 'usage.answers', 'usage.input', 'usage.output', 'usage.cost']
        .map((k) => el('th', {}, t(/** @type {import('./i18n.js').Key} */ (k)))));
      const total = el('tr', { class: 'total', 'data-testid': 'usage-total' }, [
        el('td', {}, t('usage.total')),
        el('td', { class: 'num' }, formatNumber(r.total.answers)),
        el('td', { class: 'num' }, formatNumber(r.total.input_tokens)),
        el('td', { class: 'num' }, formatNumber(r.total.output_tokens)),
        el('td', { class: 'num', 'data-cost-usd': r.total.cost ? String(r.total.cost.usd) : '' }, r.total.cost ? formatCost(r.total.cost) : '-'),
      ]);
      /** @type {Element[]} */
      const parts = [chart(dailyTotals(r.days)), el('table', { class: 'usage-table' }, [head, ...r.models.map(usageRow), total])];
      if (r.total.unpriced_answers) parts.push(el('p', { class: 'hint' }, t('usage.unpriced', { n: String(r.total.unpriced_answers) })));
      out.replaceChildren(...parts);
    }
  }

  async function listPrices() {
    /** @type {PriceEntry[]} */
    let table;
    try {
      table = await ipc.priceList();
    } catch (e) {
      error.textContent = formatError(/** @type {any} */ (e));
      return;
    }
    lastPrices = table;
    drawPrices(table);
  }

  /** @param {PriceEntry[]} table */
  function drawPrices(table) {
    prices.replaceChildren(...table.map((p) => {
      const cached = p.price.cached == null ? '-' : String(p.price.cached);
      const source = p.origin.kind === 'user'
        ? el('span', { class: 'badge' }, t('prices.yours'))
        : el('span', { class: 'hint', title: p.origin.source }, t('prices.source', { date: p.origin.date, host: hostOf(p.origin.source) }));
      const cells = [
        el('td', {}, p.model), el('td', { class: 'num' }, String(p.price.input)), el('td', { class: 'num' }, String(p.price.output)),
        el('td', { class: 'num' }, cached), el('td', {}, source),
      ];
      if (p.origin.kind === 'user') {
        const remove = iconButton('x', t('prices.remove', { model: p.model }), { 'data-testid': 'price-remove' });
        remove.addEventListener('click', async () => {
          try {
            await ipc.removePrice(p.model);
            await listPrices();
            await report();
          } catch (e) {
            error.textContent = formatError(/** @type {any} */ (e));
          }
        });
        cells.push(el('td', {}, remove));
      } else {
        cells.push(el('td'));
      }
      return el('tr', { 'data-testid': 'price-row', 'data-model': p.model, 'data-origin': p.origin.kind }, cells);
    }));
  }

  /** @param {string} url */
  function hostOf(url) {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const num = (/** @type {string} */ id) => Number(/** @type {HTMLInputElement} */ ($(id)).value);
    const cachedText = /** @type {HTMLInputElement} */ ($('price-cached')).value.trim();
    const model = /** @type {HTMLInputElement} */ ($('price-model')).value;
    try {
      await ipc.setPrice(model, { input: num('price-input'), output: num('price-output'), cached: cachedText ? Number(cachedText) : null });
      form.reset();
      await listPrices();
      await report();
    } catch (e) {
      error.textContent = formatError(/** @type {any} */ (e));
    }
  });
  range.addEventListener('change', report);

  async function saveTrace() {
    try {
      await ipc.setTrace({ enabled: traceOn.checked, cap_kib: Number(traceCap.value) });
      $('trace-error').textContent = '';
      await host.refresh();
    } catch (e) {
      $('trace-error').textContent = formatError(/** @type {any} */ (e));
    }
  }
  traceOn.addEventListener('change', saveTrace);
  traceCap.addEventListener('change', saveTrace);

  /** Fills the section; `fresh` also asks for the report and prices again. */
  function render(/** @type {boolean} */ fresh) {
    const st = host.state.data.ui;
    if (st) {
      traceOn.checked = st.trace.enabled;
      if (document.activeElement !== traceCap) traceCap.value = String(st.trace.cap_kib);
    }
    if (fresh) {
      report();
      listPrices();
    } else {
      // The language may have changed: the same figures in its words.
      if (lastReport) drawReport(lastReport);
      if (lastPrices) drawPrices(lastPrices);
    }
  }
  return { render };
}
