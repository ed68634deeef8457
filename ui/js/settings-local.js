// @ts-check
/**
 * Settings, "Local models": how they run (threads, the idle time before a
 * model is unloaded) and the installed models, each with its size and a
 * Remove button. Loaded with the settings dialog.
 */
import * as ipc from './ipc.js';
import { formatBytes, formatError } from './format.js';
import { $, el } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('../types/ipc').UiState} UiState */

/**
 * @param {{state: AppState, refresh: () => Promise<UiState>,
 *   dialogs: {confirm: (o: {title: string, ok: string, danger?: boolean}) => Promise<boolean>}}} host
 */
export function createLocalSettings(host) {
  const threads = /** @type {HTMLInputElement} */ ($('local-threads'));
  const idle = /** @type {HTMLInputElement} */ ($('local-idle'));
  const result = $('local-result');
  const error = $('local-error');
  /** @type {import('../types/ipc').LocalModelsView|null} the last listing */
  let last = null;

  /** Fills the form from the state; `fresh` also lists the installed models again. */
  function render(/** @type {boolean} */ fresh) {
    const st = host.state.data.ui;
    if (!st) return;
    threads.placeholder = t('local.threads_all', { n: st.physical_cores });
    if (document.activeElement !== threads) threads.value = st.local.threads == null ? '' : String(st.local.threads);
    if (document.activeElement !== idle) idle.value = String(st.local.idle_unload_minutes);
    $('local-idle-default').textContent = t('net.default', { value: String(st.local_defaults.idle_unload_minutes) });
    if (fresh) listModels();
    // The language may have changed: the list's words again, from the last listing.
    else if (last) renderModels(last);
  }

  async function listModels() {
    try {
      last = await ipc.localModels();
      renderModels(last);
    } catch (e) {
      $('local-model-list').replaceChildren(el('p', { class: 'error-text' }, /** @type {Error} */ (e).message));
    }
  }

  /** @param {import('../types/ipc').LocalModelsView} view */
  function renderModels(view) {
    const list = $('local-model-list');
    $('local-dir').textContent = view.models_dir;
    list.replaceChildren();
    if (view.installed.length === 0) list.append(el('p', { class: 'hint' }, t('local.none')));
    for (const m of view.installed) {
      const row = el('div', { class: 'provider-row', 'data-testid': 'local-model-row', 'data-model-id': m.id });
      const meta = [formatBytes(m.size), m.architecture, m.quantization].filter(Boolean).join(' · ');
      const remove = el('button', { type: 'button', 'data-testid': 'local-model-remove' }, t('local.remove'));
      remove.addEventListener('click', async () => {
        const sure = await host.dialogs.confirm({ title: t('local.remove_confirm', { name: m.id }), ok: t('local.remove'), danger: true });
        if (!sure) return;
        try {
          await ipc.removeModel(m.id);
        } catch (e) {
          error.textContent = /** @type {Error} */ (e).message;
        }
        await listModels();
        await host.refresh();
      });
      row.append(el('div', { class: 'title' }, m.id), el('div', { class: 'actions' }, [remove]), el('div', { class: 'meta' }, m.problem ?? meta));
      list.append(row);
    }
  }

  $('local-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    result.textContent = '';
    error.textContent = '';
    const n = threads.value.trim() === '' ? null : Number(threads.value);
    const minutes = Number(idle.value);
    try {
      await ipc.setLocal({ threads: n, idle_unload_minutes: minutes });
      result.textContent = t('editor.saved');
    } catch (e) {
      const err = /** @type {import('./ipc.js').CommandError} */ (e);
      error.textContent = formatError({ kind: err.kind, message: err.message });
    }
    await host.refresh();
  });

  return { render };
}
