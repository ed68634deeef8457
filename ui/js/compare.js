// @ts-check
/**
 * The composer's Compare box: 2-4 provider·model pairs to send the next
 * prompt to at once (the columns are conversation-view.js's).
 */
import { $, el } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('./state.js').AppState} AppState */

/** Rows in the box: the most models compared at once. */
export const COMPARE_ROWS = 4;

/**
 * The filled rows as targets: rows with a provider; the model may be blank
 * (the provider's default).
 * @param {{provider: string, model: string}[]} rows
 * @param {(id: string) => string} nameOf
 */
export function targetsOf(rows, nameOf) {
  return rows
    .filter((r) => r.provider)
    .map((r) => ({
      providerId: r.provider,
      model: r.model.trim(),
      label: `${nameOf(r.provider)} · ${r.model.trim() || t('compare.default_model')}`,
    }));
}

/**
 * @param {{state: AppState, onCompare: (targets: {providerId: string|null, model: string, label: string}[]) => void}} deps
 */
export function createCompare({ state, onCompare }) {
  const box = /** @type {HTMLDetailsElement} */ ($('compare-box'));
  const list = $('compare-rows');
  const sendBtn = /** @type {HTMLButtonElement} */ ($('compare-send'));
  const hint = $('compare-hint');
  /** @type {{provider: HTMLSelectElement, model: HTMLInputElement}[]} */
  const rows = [];
  for (let i = 0; i < COMPARE_ROWS; i++) {
    const provider = /** @type {HTMLSelectElement} */ (el('select', { 'data-testid': 'compare-provider' }));
    const model = /** @type {HTMLInputElement} */ (el('input', { 'data-testid': 'compare-model', spellcheck: 'false' }));
    provider.addEventListener('change', update);
    list.append(el('div', { class: 'compare-row' }, [provider, model]));
    rows.push({ provider, model });
  }

  function nameOf(/** @type {string} */ id) {
    return state.data.ui?.providers.find((p) => p.id === id)?.name ?? id;
  }

  /** Fills the rows' choices and words (again after a language switch). */
  function fill() {
    const providers = state.data.ui?.providers ?? [];
    rows.forEach((r, i) => {
      r.provider.setAttribute('aria-label', t('compare.provider', { n: String(i + 1) }));
      r.model.placeholder = t('compare.model');
      r.model.setAttribute('aria-label', t('compare.model_n', { n: String(i + 1) }));
    });
    for (const r of rows) {
      const keep = r.provider.value;
      r.provider.replaceChildren(
        el('option', { value: '' }, t('compare.none')),
        ...providers.map((p) => el('option', { value: p.id }, p.name)),
      );
      r.provider.value = providers.some((p) => p.id === keep) ? keep : '';
    }
    update();
  }

  function current() {
    return targetsOf(rows.map((r) => ({ provider: r.provider.value, model: r.model.value })), nameOf);
  }

  function update() {
    const n = current().length;
    sendBtn.disabled = n < 2 || !!state.data.active;
    hint.textContent = t('compare.hint', { n: String(n) });
  }

  sendBtn.addEventListener('click', () => {
    const targets = current();
    if (targets.length < 2) return;
    onCompare(targets);
    box.open = false;
  });
  state.on('ui', fill);
  state.on('active', update);
  fill();
  return { render: fill };
}
