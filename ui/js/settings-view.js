// @ts-check
/**
 * The settings dialog: providers (add, edit, duplicate, delete, default),
 * their keys, the theme and the language. A key typed here goes to the backend once and is
 * never shown again: only its status comes back. Imported, and its markup
 * put in the page, when the dialog first opens (settings.js).
 */
import * as ipc from './ipc.js';
import { formatError, formatHeaders, keyLabel, parseHeaders, providerProblem } from './format.js';
import { LANGUAGES, t } from './i18n.js';
import { $, applyTheme, el, iconButton } from './dom.js';
import { createNetworkSettings } from './settings-network.js';
import { createLocalSettings } from './settings-local.js';
import { createUsageSettings } from './settings-usage.js';
import { createBackupSettings } from './settings-backups.js';
import { createToolSettings } from './settings-tools.js';

/** @typedef {import('../types/ipc').UiState} UiState */
/** @typedef {import('../types/ipc').Theme} Theme */
/** @typedef {import('../types/ipc').SavedProvider} SavedProvider */
/** @typedef {import('./state.js').AppState} AppState */

/**
 * @typedef {{state: AppState, dialogs: import('./dialogs.js').Dialogs, refresh: () => Promise<UiState>,
 *   onLanguage: (lang: string|null) => void, onRestored: () => void}} Host
 */

/**
 * Wires the settings dialog (its markup is in the page); it re-renders
 * whenever `state.ui` changes.
 * @param {Host} host
 */
export function createSettingsView(host) {
  const state = () => host.state.data.ui;
  const dialog = /** @type {HTMLDialogElement} */ ($('settings'));
  const editor = /** @type {HTMLFormElement} */ ($('provider-editor'));
  const kindSelect = /** @type {HTMLSelectElement} */ ($('provider-kind-select'));
  const nameInput = /** @type {HTMLInputElement} */ ($('provider-name-input'));
  const baseInput = /** @type {HTMLInputElement} */ ($('base-url-input'));
  const modelInput = /** @type {HTMLInputElement} */ ($('provider-model-input'));
  const headersInput = /** @type {HTMLTextAreaElement} */ ($('provider-headers-input'));
  const maxTokensInput = /** @type {HTMLInputElement} */ ($('provider-max-tokens-input'));
  const keyInput = /** @type {HTMLInputElement} */ ($('api-key-input'));
  const keySection = $('key-section');
  const keyResult = $('key-result');
  const forceBtn = $('api-key-force');
  /** @type {string|null} */
  let editingId = null;
  const network = createNetworkSettings(host);
  const localModels = createLocalSettings(host);
  const usage = createUsageSettings(host);
  const backups = createBackupSettings(host);
  const tools = createToolSettings(host);

  const showError = (/** @type {string} */ id, /** @type {string} */ text) => {
    $(id).textContent = text;
  };

  function providerById(/** @type {string|null} */ id) {
    return state()?.providers.find((p) => p.id === id) ?? null;
  }

  function renderList() {
    const st = state();
    if (!st) return;
    $('settings-path').textContent = st.settings_path;
    /** @type {HTMLSelectElement} */ ($('theme-select')).value = st.theme;
    const langSelect = /** @type {HTMLSelectElement} */ ($('language-select'));
    langSelect.replaceChildren(
      el('option', { value: '' }, t('settings.language_system')),
      // Each language is named in itself, so anyone can find theirs.
      ...LANGUAGES.map(([code, name]) => el('option', { value: code, lang: code }, name)),
    );
    langSelect.value = st.language ?? '';
    const list = $('provider-list');
    list.replaceChildren();
    for (const p of st.providers) {
      const row = el('div', { class: 'provider-row', 'data-testid': 'provider-row', 'data-provider-id': p.id });
      const title = el('div', { class: 'title' }, p.name);
      if (st.default_provider === p.id) title.append(el('span', { class: 'badge' }, t('settings.badge_default')));
      if (p.from_env) title.append(el('span', { class: 'badge' }, t('settings.badge_session')));
      const local = p.kind === 'local';
      const where = local ? t('local.where') : p.base_url;
      const meta = el('div', { class: 'meta' }, `${p.id} · ${where}${p.default_model ? ` · ${p.default_model}` : ''}`);
      const key = el('div', { class: 'meta' });
      if (!local) {
        key.append(`${t('key.label')} `, el('span', { 'data-testid': 'api-key-status' }, keyLabel(p.key, p.from_env)));
        if (!p.needs_key && !p.key.set) key.append(` ${t('key.not_needed')}`);
      }
      const actions = el('div', { class: 'actions' });
      if (local) {
        // Its models are managed under "Local models"; it can be the default.
        const def = el('button', { type: 'button', 'data-testid': 'provider-default' }, t('settings.make_default'));
        def.disabled = st.default_provider === p.id || !p.usable;
        def.addEventListener('click', () => run(() => ipc.setDefaultProvider(p.id)));
        actions.append(def);
      } else if (!p.from_env) {
        const edit = iconButton('pencil', t('settings.edit', { name: p.name }), { 'data-testid': 'provider-edit' });
        edit.addEventListener('click', () => openEditor(p.id));
        const dup = iconButton('copy', t('settings.duplicate', { name: p.name }), { 'data-testid': 'provider-duplicate' });
        dup.addEventListener('click', async () => {
          let copy = null;
          await run(async () => {
            copy = await ipc.duplicateProvider(p.id);
          });
          // The copy exists in the refreshed state now.
          if (copy) openEditor(copy);
        });
        const del = iconButton('trash-2', t('settings.delete', { name: p.name }), { 'data-testid': 'provider-delete' });
        del.addEventListener('click', async () => {
          const sure = await host.dialogs.confirm({
            title: t('settings.delete_confirm', { name: p.name }), ok: t('settings.delete', { name: p.name }), danger: true,
          });
          if (!sure) return;
          run(async () => {
            await ipc.deleteProvider(p.id);
            if (editingId === p.id) closeEditor();
          });
        });
        const def = el('button', { type: 'button', 'data-testid': 'provider-default' }, t('settings.make_default'));
        def.disabled = st.default_provider === p.id;
        def.addEventListener('click', () => run(() => ipc.setDefaultProvider(p.id)));
        actions.append(edit, dup, def, del);
      }
      row.append(title, actions, meta, key);
      // A keychain problem is the OS's own words; a missing key is said in the window's language.
      const problem = p.key.problem ? { text: p.key.problem, backend: true } : providerProblem(p);
      if (problem) {
        const cls = problem.backend ? 'row-error backend-text' : 'row-error';
        row.append(el('div', { class: cls, 'data-testid': 'provider-row-error' }, problem.text));
      }
      list.append(row);
    }
  }

  /**
   * Runs an action, then refreshes; errors show in the editor.
   * @param {() => Promise<unknown>} f
   * @returns {Promise<boolean>} whether the action succeeded
   */
  async function run(f) {
    showError('provider-error', '');
    let ok = true;
    try {
      await f();
    } catch (e) {
      ok = false;
      showError('provider-error', /** @type {Error} */ (e).message);
    }
    await host.refresh();
    return ok;
  }

  function fillKinds() {
    const st = state();
    kindSelect.replaceChildren(
      el('option', { value: 'custom' }, t('editor.custom_openai')),
      el('option', { value: 'custom-anthropic' }, t('editor.custom_anthropic')),
    );
    for (const p of st?.presets ?? []) kindSelect.append(el('option', { value: p.id }, p.name));
  }

  /** Opens the editor for a provider, or (null) for a new one. @param {string|null} id */
  function openEditor(id) {
    editingId = id;
    editor.hidden = false;
    showError('provider-error', '');
    keyResult.textContent = '';
    forceBtn.hidden = true;
    keyInput.value = '';
    const p = providerById(id);
    $('editor-title').textContent = p ? t('editor.title_edit', { name: p.name }) : t('editor.title_new');
    kindSelect.disabled = !!p;
    if (p) {
      kindSelect.value = 'custom';
      nameInput.value = p.name;
      baseInput.value = p.base_url;
      modelInput.value = p.default_model;
      headersInput.value = formatHeaders(p.extra_headers);
      maxTokensInput.value = p.max_tokens == null ? '' : String(p.max_tokens);
      fillModels(p.models?.models ?? []);
    } else {
      fillKinds();
      kindSelect.value = 'custom';
      nameInput.value = '';
      baseInput.value = '';
      modelInput.value = '';
      headersInput.value = '';
      maxTokensInput.value = '';
      fillModels([]);
    }
    renderMaxTokens();
    renderKeySection();
    nameInput.focus();
  }

  /** The protocol of the provider being edited. */
  function editingKind() {
    const existing = providerById(editingId);
    if (existing) return existing.kind;
    const preset = state()?.presets.find((p) => p.id === kindSelect.value);
    if (preset) return preset.kind;
    return kindSelect.value === 'custom-anthropic' ? 'anthropic' : 'openai-compatible';
  }

  /** Max tokens is asked of Anthropic providers only; its default is shown. */
  function renderMaxTokens() {
    $('max-tokens-box').hidden = editingKind() !== 'anthropic';
    maxTokensInput.placeholder = String(state()?.anthropic_default_max_tokens ?? '');
  }

  function closeEditor() {
    editingId = null;
    editor.hidden = true;
    keyInput.value = '';
  }

  function renderKeySection() {
    const p = providerById(editingId);
    keySection.hidden = !p;
    if (p) $('editor-key-status').textContent = keyLabel(p.key, p.from_env);
  }

  /** @param {string[]} models */
  function fillModels(models) {
    const list = $('editor-models');
    list.replaceChildren(...models.map((m) => el('option', { value: m })));
  }

  kindSelect.addEventListener('change', () => {
    const preset = state()?.presets.find((p) => p.id === kindSelect.value);
    if (!preset) {
      renderMaxTokens();
      return;
    }
    nameInput.value = preset.name;
    baseInput.value = preset.base_url;
    modelInput.value = preset.default_model;
    renderMaxTokens();
  });

  editor.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const { headers, error } = parseHeaders(headersInput.value);
    if (error) {
      showError('provider-error', error);
      return;
    }
    const maxTokens = maxTokensInput.value.trim() && editingKind() === 'anthropic' ? Number(maxTokensInput.value) : null;
    if (maxTokens !== null && (!Number.isInteger(maxTokens) || maxTokens < 1)) {
      showError('provider-error', t('net.bad_count', { name: t('editor.max_tokens') }));
      return;
    }
    /** @type {SavedProvider | null} */
    let saved = null;
    run(async () => {
      // A new provider gets its id from its name (a deleted preset comes back under its own id).
      saved = await ipc.saveProvider({
        id: editingId,
        name: nameInput.value,
        kind: editingKind(),
        base_url: baseInput.value,
        default_model: modelInput.value,
        extra_headers: headers,
        max_tokens: maxTokens,
      });
    }).then((ok) => {
      // On failure the fields keep what the user typed; the error shows below them.
      if (!ok || !saved) return;
      openEditor(saved.id);
      keyResult.textContent = saved.key_removed
        ? t('editor.key_removed')
        : t('editor.saved');
    });
  });

  async function saveKey(/** @type {boolean} */ force) {
    if (!editingId) return;
    const key = keyInput.value;
    if (!key.trim()) {
      keyResult.textContent = t('key.paste_first');
      return;
    }
    keyResult.textContent = force ? t('key.saving') : t('key.testing');
    forceBtn.hidden = true;
    try {
      const r = await ipc.setApiKey(editingId, key, force);
      if (r.stored) {
        keyInput.value = '';
        fillModels(r.models);
        const parts = [r.status.saved ? t('key.saved_keychain') : t('key.saved_session')];
        if (r.models.length) parts.push(t('key.models_available', { n: r.models.length }));
        if (r.test_error) parts.push(t('key.test_failed', { error: formatError(r.test_error) }));
        if (r.keychain_error) parts.push(r.keychain_error);
        keyResult.textContent = parts.join(' ');
      } else {
        keyResult.textContent = `${t('key.not_saved')} ${r.test_error ? formatError(r.test_error) : ''}`.trim();
        forceBtn.hidden = false;
      }
    } catch (e) {
      keyResult.textContent = /** @type {Error} */ (e).message;
    }
    await host.refresh();
    renderKeySection();
  }

  $('api-key-save').addEventListener('click', () => saveKey(false));
  forceBtn.addEventListener('click', () => saveKey(true));
  keyInput.addEventListener('keydown', (/** @type {KeyboardEvent} */ ev) => {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      saveKey(false);
    }
  });
  $('api-key-delete').addEventListener('click', () => {
    if (!editingId) return;
    const id = editingId;
    run(() => ipc.deleteApiKey(id)).then((ok) => {
      keyResult.textContent = ok ? t('key.deleted') : $('provider-error').textContent;
      renderKeySection();
    });
  });
  $('provider-add').addEventListener('click', () => openEditor(null));
  $('provider-cancel').addEventListener('click', closeEditor);
  $('settings-close').addEventListener('click', () => dialog.close());
  // A typed key never lingers in a closed dialog.
  dialog.addEventListener('close', () => {
    keyInput.value = '';
  });
  $('theme-select').addEventListener('change', (/** @type {Event} */ ev) => {
    const theme = /** @type {Theme} */ (/** @type {HTMLSelectElement} */ (ev.target).value);
    // Shown at once; a state load already on its way (a language just saved) does not undo it.
    host.state.changeUi({ theme });
    applyTheme(theme);
    run(() => ipc.setTheme(theme));
  });

  $('language-select').addEventListener('change', (/** @type {Event} */ ev) => {
    const value = /** @type {HTMLSelectElement} */ (ev.target).value;
    const language = /** @type {import('../types/ipc').Language|null} */ (value || null);
    host.state.changeUi({ language });
    host.onLanguage(language);
    run(() => ipc.setLanguage(language));
  });

  function open() {
    renderList();
    network.render();
    localModels.render(true);
    usage.render(true);
    backups.render(true);
    tools.render(true);
    if (!dialog.open) dialog.showModal();
  }

  /** Re-renders the dialog from the latest state. */
  function render() {
    renderList();
    renderKeySection();
    network.render();
    localModels.render(false);
    usage.render(false);
    backups.render(false);
    tools.render(false);
  }
  host.state.on('ui', render);

  return {
    open,
    render,
    /** Opens the dialog on a new provider's form. */
    openNew() {
      open();
      openEditor(null);
    },
    /** Opens the dialog at its backups. */
    openBackups() {
      open();
      $('backup-section').scrollIntoView({ block: 'start' });
      $('backup-create').focus();
    },
  };
}
