// @ts-check
/**
 * Settings, "Local models": how they run (threads, the idle time before a
 * model is unloaded); the installed models, each with its size and a Remove
 * button; importing a `.gguf` file; and the catalog, each model with its
 * size, license, context and memory needed, downloaded with its progress
 * (bytes, rate, time left) and a Cancel. Loaded with the settings dialog.
 */
import * as ipc from './ipc.js';
import { formatBytes, formatDownload, formatError, newId } from './format.js';
import { formatNumber } from './i18n.js';
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
  const context = /** @type {HTMLInputElement} */ ($('local-context'));
  const result = $('local-result');
  const error = $('local-error');
  /** @type {import('../types/ipc').LocalModelsView|null} the last listing */
  let last = null;
  /**
   * Downloads running from this view, by model id: the stream that cancels
   * it and the last progress shown (rows are redrawn from it).
   * @type {Map<string, {stream: string, text: string, percent: number|null}>}
   */
  const downloads = new Map();

  /** Fills the form from the state; `fresh` also lists the installed models again. */
  function render(/** @type {boolean} */ fresh) {
    const st = host.state.data.ui;
    if (!st) return;
    threads.placeholder = t('local.threads_all', { n: st.physical_cores });
    if (document.activeElement !== threads) threads.value = st.local.threads == null ? '' : String(st.local.threads);
    if (document.activeElement !== idle) idle.value = String(st.local.idle_unload_minutes);
    $('local-idle-default').textContent = t('net.default', { value: String(st.local_defaults.idle_unload_minutes) });
    const ctxDefault = formatNumber(st.local_defaults.context ?? 0);
    context.placeholder = ctxDefault;
    if (document.activeElement !== context) context.value = st.local.context == null ? '' : String(st.local.context);
    $('local-context-default').textContent = t('net.default', { value: ctxDefault });
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
    renderCatalog(view);
  }

  /** The catalog: each model with what it costs to run, and Download. @param {import('../types/ipc').LocalModelsView} view */
  function renderCatalog(view) {
    const list = $('local-catalog');
    list.replaceChildren();
    for (const m of view.catalog) {
      const row = el('div', { class: 'provider-row', 'data-testid': 'local-catalog-row', 'data-model-id': m.id });
      const meta = t('local.catalog_meta', {
        size: formatBytes(m.size),
        license: m.license,
        context: formatNumber(m.context),
        ram: formatBytes(m.ram_needed),
      });
      const title = el('div', { class: 'title' }, m.name);
      title.title = m.page;
      /** @type {HTMLElement[]} */
      const actions = [];
      const running = downloads.get(m.id);
      if (m.installed) {
        actions.push(el('span', { class: 'badge', 'data-testid': 'local-catalog-installed' }, t('local.installed')));
      } else if (running) {
        const cancel = el('button', { type: 'button', 'data-testid': 'local-catalog-cancel' }, t('download.cancel'));
        cancel.addEventListener('click', () => ipc.cancelStream(running.stream));
        actions.push(cancel);
      } else {
        const download = el('button', { type: 'button', 'data-testid': 'local-catalog-download' }, t('local.download'));
        download.addEventListener('click', () => pull(m.id, m.name));
        actions.push(download);
      }
      row.append(title, el('div', { class: 'actions' }, actions), el('div', { class: 'meta' }, meta));
      if (running) {
        const bar = /** @type {HTMLProgressElement} */ (el('progress', { max: '100', 'data-testid': 'local-catalog-progress' }));
        if (running.percent != null) bar.value = running.percent;
        row.append(el('div', { class: 'download-line' }, [
          bar,
          el('span', { class: 'meta', role: 'status', 'data-testid': 'local-catalog-progress-text' }, running.text),
        ]));
      }
      list.append(row);
    }
  }

  /** Redraws one catalog row's progress in place (a download sends many). @param {string} id */
  function showProgress(id) {
    const d = downloads.get(id);
    const row = $('local-catalog').querySelector(`[data-model-id="${CSS.escape(id)}"]`);
    if (!d || !row) return;
    const bar = /** @type {HTMLProgressElement|null} */ (row.querySelector('progress'));
    const text = row.querySelector('[data-testid=local-catalog-progress-text]');
    if (bar) {
      if (d.percent == null) bar.removeAttribute('value');
      else bar.value = d.percent;
    }
    if (text) text.textContent = d.text;
  }

  /** Downloads a catalog model with its progress in its row. @param {string} id @param {string} name */
  async function pull(id, name) {
    if (downloads.has(id)) return;
    result.textContent = '';
    error.textContent = '';
    downloads.set(id, { stream: newId(), text: '', percent: null });
    if (last) renderCatalog(last);
    const stream = /** @type {{stream: string}} */ (downloads.get(id)).stream;
    try {
      await ipc.pullModel(stream, id, (msg) => {
        const d = downloads.get(id);
        if (!d) return;
        if (msg.kind === 'progress') {
          const p = formatDownload(msg);
          d.text = p.text;
          d.percent = p.percent;
        } else {
          d.text = t(msg.kind === 'verifying' ? 'download.verifying' : 'download.resuming');
        }
        showProgress(id);
      });
      result.textContent = t('local.downloaded', { name });
    } catch (e) {
      const err = /** @type {import('./ipc.js').CommandError} */ (e);
      error.textContent = err.kind === 'invalid' ? t('download.cancelled') : formatError({ kind: err.kind, message: err.message });
    } finally {
      downloads.delete(id);
    }
    await listModels();
    await host.refresh();
  }

  $('local-import').addEventListener('click', async () => {
    result.textContent = '';
    error.textContent = '';
    const button = /** @type {HTMLButtonElement} */ ($('local-import'));
    button.disabled = true;
    try {
      const m = await ipc.importModel();
      if (m) result.textContent = t('local.imported', { name: m.id });
    } catch (e) {
      const err = /** @type {import('./ipc.js').CommandError} */ (e);
      error.textContent = formatError({ kind: err.kind, message: err.message });
    } finally {
      button.disabled = false;
    }
    await listModels();
    await host.refresh();
  });

  $('local-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    result.textContent = '';
    error.textContent = '';
    const n = threads.value.trim() === '' ? null : Number(threads.value);
    const minutes = Number(idle.value);
    const ctx = context.value.trim() === '' ? null : Number(context.value);
    try {
      await ipc.setLocal({ threads: n, idle_unload_minutes: minutes, context: ctx });
      result.textContent = t('editor.saved');
    } catch (e) {
      const err = /** @type {import('./ipc.js').CommandError} */ (e);
      error.textContent = formatError({ kind: err.kind, message: err.message });
    }
    await host.refresh();
  });

  return { render };
}
