// @ts-check
/**
 * Settings dialog (providers, keys, theme), first-run onboarding and the
 * banners about the settings file and the environment. A key typed here goes
 * to the backend once and is never shown again: only its status comes back.
 */
import * as ipc from './ipc.js';
import { formatError, formatHeaders, parseHeaders } from './format.js';
import { el } from './message-view.js';

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/**
 * @typedef {{refresh: () => Promise<import('./ipc.js').UiState>,
 *   state: () => import('./ipc.js').UiState | null,
 *   onProviderChosen: (id: string) => void}} Host
 */

/** Applies the theme to the page. @param {'system'|'light'|'dark'} theme */
export function applyTheme(theme) {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

/** @param {Host} host */
export function initSettings(host) {
  const dialog = /** @type {HTMLDialogElement} */ ($('settings'));
  const editor = /** @type {HTMLFormElement} */ ($('provider-editor'));
  const kindSelect = /** @type {HTMLSelectElement} */ ($('provider-kind-select'));
  const nameInput = /** @type {HTMLInputElement} */ ($('provider-name-input'));
  const baseInput = /** @type {HTMLInputElement} */ ($('base-url-input'));
  const modelInput = /** @type {HTMLInputElement} */ ($('provider-model-input'));
  const headersInput = /** @type {HTMLTextAreaElement} */ ($('provider-headers-input'));
  const keyInput = /** @type {HTMLInputElement} */ ($('api-key-input'));
  const keySection = $('key-section');
  const keyResult = $('key-result');
  const forceBtn = $('api-key-force');
  /** @type {string|null} */
  let editingId = null;

  const showError = (/** @type {string} */ id, /** @type {string} */ text) => {
    $(id).textContent = text;
  };

  function providerById(/** @type {string|null} */ id) {
    return host.state()?.providers.find((p) => p.id === id) ?? null;
  }

  function renderList() {
    const st = host.state();
    if (!st) return;
    $('settings-path').textContent = st.settings_path;
    /** @type {HTMLSelectElement} */ ($('theme-select')).value = st.theme;
    const list = $('provider-list');
    list.replaceChildren();
    for (const p of st.providers) {
      const row = el('div', { class: 'provider-row', 'data-testid': 'provider-row', 'data-provider-id': p.id });
      const title = el('div', { class: 'title' }, p.name);
      if (st.default_provider === p.id) title.append(el('span', { class: 'badge' }, 'default'));
      if (p.from_env) title.append(el('span', { class: 'badge' }, 'this session only'));
      const meta = el('div', { class: 'meta' }, `${p.id} · ${p.base_url}${p.default_model ? ` · ${p.default_model}` : ''}`);
      const key = el('div', { class: 'meta' });
      key.append('Key: ', el('span', { 'data-testid': 'api-key-status' }, p.key_label));
      if (!p.needs_key && !p.key.set) key.append(' (not needed: the server is on this machine)');
      const actions = el('div', { class: 'actions' });
      if (!p.from_env) {
        const edit = el('button', { type: 'button', 'data-testid': 'provider-edit' }, 'Edit');
        edit.addEventListener('click', () => openEditor(p.id));
        const dup = el('button', { type: 'button', 'data-testid': 'provider-duplicate' }, 'Duplicate');
        dup.addEventListener('click', async () => {
          let copy = null;
          await run(async () => {
            copy = await ipc.duplicateProvider(p.id);
          });
          // The copy exists in the refreshed state now.
          if (copy) openEditor(copy);
        });
        const del = el('button', { type: 'button', 'data-testid': 'provider-delete' }, 'Delete');
        del.addEventListener('click', () => {
          if (!confirm(`Delete ${p.name} and its saved key?`)) return;
          run(async () => {
            await ipc.deleteProvider(p.id);
            if (editingId === p.id) closeEditor();
          });
        });
        const def = el('button', { type: 'button', 'data-testid': 'provider-default' }, 'Use for new chats');
        def.disabled = st.default_provider === p.id;
        def.addEventListener('click', () => run(() => ipc.setDefaultProvider(p.id)));
        actions.append(edit, dup, def, del);
      }
      row.append(title, actions, meta, key);
      const problem = p.key.problem ?? (p.usable ? null : p.problem);
      if (problem) row.append(el('div', { class: 'row-error', 'data-testid': 'provider-row-error' }, problem));
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
    const st = host.state();
    kindSelect.replaceChildren(
      el('option', { value: 'custom' }, 'Custom (OpenAI-compatible)'),
      el('option', { value: 'custom-anthropic' }, 'Custom (Anthropic Messages)'),
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
    $('editor-title').textContent = p ? `Edit ${p.name}` : 'New provider';
    kindSelect.disabled = !!p;
    if (p) {
      kindSelect.value = 'custom';
      nameInput.value = p.name;
      baseInput.value = p.base_url;
      modelInput.value = p.default_model;
      headersInput.value = formatHeaders(p.extra_headers);
      fillModels(p.models?.models ?? []);
    } else {
      fillKinds();
      kindSelect.value = 'custom';
      nameInput.value = '';
      baseInput.value = '';
      modelInput.value = '';
      headersInput.value = '';
      fillModels([]);
    }
    renderKeySection();
    nameInput.focus();
  }

  /** The protocol of the provider being edited. */
  function editingKind() {
    const existing = providerById(editingId);
    if (existing) return existing.kind;
    const preset = host.state()?.presets.find((p) => p.id === kindSelect.value);
    if (preset) return preset.kind;
    return kindSelect.value === 'custom-anthropic' ? 'anthropic' : 'openai-compatible';
  }

  function closeEditor() {
    editingId = null;
    editor.hidden = true;
    keyInput.value = '';
  }

  function renderKeySection() {
    const p = providerById(editingId);
    keySection.hidden = !p;
    if (p) $('editor-key-status').textContent = p.key_label;
  }

  /** @param {string[]} models */
  function fillModels(models) {
    const list = $('editor-models');
    list.replaceChildren(...models.map((m) => el('option', { value: m })));
  }

  kindSelect.addEventListener('change', () => {
    const preset = host.state()?.presets.find((p) => p.id === kindSelect.value);
    if (!preset) return;
    nameInput.value = preset.name;
    baseInput.value = preset.base_url;
    modelInput.value = preset.default_model;
  });

  editor.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const { headers, error } = parseHeaders(headersInput.value);
    if (error) {
      showError('provider-error', error);
      return;
    }
    /** @type {import('./ipc.js').SavedProvider | null} */
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
      });
    }).then((ok) => {
      // On failure the fields keep what the user typed; the error shows below them.
      if (!ok || !saved) return;
      openEditor(saved.id);
      keyResult.textContent = saved.key_removed
        ? 'The host changed, so the saved key was removed: paste the key for the new host.'
        : 'Saved.';
    });
  });

  async function saveKey(/** @type {boolean} */ force) {
    if (!editingId) return;
    const key = keyInput.value;
    if (!key.trim()) {
      keyResult.textContent = 'Paste a key first.';
      return;
    }
    keyResult.textContent = force ? 'Saving…' : 'Testing the key with GET /models…';
    forceBtn.hidden = true;
    try {
      const r = await ipc.setApiKey(editingId, key, force);
      if (r.stored) {
        keyInput.value = '';
        fillModels(r.models);
        const parts = [`Saved: ${r.status.saved ? 'in the system keychain' : 'for this session only'}.`];
        if (r.models.length) parts.push(`${r.models.length} models available.`);
        if (r.test_error) parts.push(`The test failed: ${formatError(r.test_error)}`);
        if (r.keychain_error) parts.push(r.keychain_error);
        keyResult.textContent = parts.join(' ');
      } else {
        keyResult.textContent = `Not saved. ${r.test_error ? formatError(r.test_error) : ''}`;
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
      keyResult.textContent = ok ? 'The key was deleted from the keychain.' : $('provider-error').textContent;
      renderKeySection();
    });
  });
  $('provider-add').addEventListener('click', () => openEditor(null));
  $('provider-cancel').addEventListener('click', closeEditor);
  $('settings-open').addEventListener('click', () => open());
  $('settings-close').addEventListener('click', () => dialog.close());
  // A typed key never lingers in a closed dialog.
  dialog.addEventListener('close', () => {
    keyInput.value = '';
  });
  $('theme-select').addEventListener('change', (/** @type {Event} */ ev) => {
    const theme = /** @type {'system'|'light'|'dark'} */ (/** @type {HTMLSelectElement} */ (ev.target).value);
    applyTheme(theme);
    run(() => ipc.setTheme(theme));
  });

  // Onboarding.
  const obPreset = /** @type {HTMLSelectElement} */ ($('onboarding-preset'));
  const obKey = /** @type {HTMLInputElement} */ ($('onboarding-key'));
  const obForce = $('onboarding-force');
  function renderOnboarding() {
    const st = host.state();
    const box = $('onboarding');
    box.hidden = !st?.onboarding;
    if (!st?.onboarding) return;
    if (obPreset.options.length === 0) {
      for (const p of st.providers.filter((p) => !p.from_env)) obPreset.append(el('option', { value: p.id }, p.name));
    }
    const p = providerById(obPreset.value);
    obKey.hidden = !p?.needs_key;
    $('onboarding-hint').textContent = p
      ? p.needs_key
        ? `${p.name} needs an API key. It is tested with ${p.base_url}/models, then saved in your keychain.`
        : `${p.name} runs on this machine at ${p.base_url}: no key needed.`
      : '';
  }
  obPreset.addEventListener('change', () => {
    obForce.hidden = true;
    $('onboarding-error').textContent = '';
    renderOnboarding();
  });
  async function startOnboarding(/** @type {boolean} */ force) {
    const id = obPreset.value;
    const p = providerById(id);
    if (!p) return;
    $('onboarding-error').textContent = '';
    obForce.hidden = true;
    try {
      if (p.needs_key) {
        if (!obKey.value.trim()) {
          $('onboarding-error').textContent = `Paste your ${p.name} API key first.`;
          return;
        }
        const r = await ipc.setApiKey(id, obKey.value, force);
        if (!r.stored) {
          $('onboarding-error').textContent = `The key was not saved. ${r.test_error ? formatError(r.test_error) : ''}`;
          obForce.hidden = false;
          return;
        }
        obKey.value = '';
        if (r.keychain_error) $('onboarding-error').textContent = r.keychain_error;
      }
      await ipc.setDefaultProvider(id);
      host.onProviderChosen(id);
    } catch (e) {
      $('onboarding-error').textContent = /** @type {Error} */ (e).message;
    }
    await host.refresh();
  }
  $('onboarding-start').addEventListener('click', () => startOnboarding(false));
  obForce.addEventListener('click', () => startOnboarding(true));
  $('onboarding-custom').addEventListener('click', () => {
    open();
    openEditor(null);
  });

  // Banners.
  let envDismissed = false;
  function renderBanners() {
    const st = host.state();
    const notice = $('notice-banner');
    notice.hidden = !st?.notice;
    notice.textContent = st?.notice ?? '';
    const env = st?.env_import;
    const banner = $('env-banner');
    const alreadySaved = st?.providers.some((p) => !p.from_env && p.key.saved && st.default_provider === p.id);
    const importable = !!env && (env.openai_key || !!env.base_url || env.anthropic_key);
    banner.hidden = envDismissed || !env || !importable || !!alreadySaved;
    $('env-import').hidden = !importable;
    const parts = [];
    if (env?.openai_key) {
      parts.push(`OPENAI_API_KEY is set in your environment${env.base_url ? ` (for ${env.base_url})` : ''}. Save it in your system keychain so Runnel has it next time?`);
    } else if (env?.base_url) {
      parts.push(`OPENAI_BASE_URL is set to ${env.base_url}. Save it as a provider?`);
    }
    if (env?.anthropic_key) parts.push('ANTHROPIC_API_KEY is set: save it in your keychain for the Anthropic provider?');
    $('env-banner-text').textContent = parts.join(' ');
  }
  $('env-import').addEventListener('click', async () => {
    try {
      const id = await ipc.importEnv();
      envDismissed = true;
      host.onProviderChosen(id);
    } catch (e) {
      $('env-banner-text').textContent = /** @type {Error} */ (e).message;
    }
    await host.refresh();
  });
  $('env-dismiss').addEventListener('click', () => {
    envDismissed = true;
    renderBanners();
  });

  function open() {
    renderList();
    if (!dialog.open) dialog.showModal();
  }

  return {
    /** Re-renders everything from the latest state. */
    render() {
      const st = host.state();
      if (st) applyTheme(st.theme);
      renderList();
      renderKeySection();
      renderOnboarding();
      renderBanners();
    },
    open,
  };
}
