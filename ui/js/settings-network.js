// @ts-check
/**
 * The settings dialog's Chats, Network and Proxy groups: the default
 * provider and its model; timeouts and retries, each with its default shown
 * and one reset for the group; the proxy (system, none, or one set here),
 * whose password goes to the keychain once and is never shown again.
 */
import * as ipc from './ipc.js';
import { defaultHints, fromFields, toFields } from './network-model.js';
import { t } from './i18n.js';
import { $, el } from './dom.js';

/** @typedef {import('../types/ipc').UiState} UiState */
/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./network-model.js').NetworkFields} NetworkFields */

/** The form's inputs, by field. */
const FIELDS = /** @type {const} */ ({
  connect: 'net-connect', firstByte: 'net-first-byte', idle: 'net-idle', deadline: 'net-deadline',
  retries: 'net-retries', backoff: 'net-backoff', proxyMode: 'proxy-mode', proxyUrl: 'proxy-url',
  noProxy: 'proxy-no-proxy', proxyUser: 'proxy-user',
});

/**
 * @param {{state: AppState, refresh: () => Promise<UiState>}} host
 */
export function createNetworkSettings(host) {
  const form = /** @type {HTMLFormElement} */ ($('network-form'));
  const password = /** @type {HTMLInputElement} */ ($('proxy-password'));
  const providerSelect = /** @type {HTMLSelectElement} */ ($('default-provider-select'));
  const modelInput = /** @type {HTMLInputElement} */ ($('default-model-input'));
  const input = (/** @type {keyof typeof FIELDS} */ k) => /** @type {HTMLInputElement} */ ($(FIELDS[k]));
  /** The form was edited since it was last filled: a refresh does not overwrite it. */
  let dirty = false;

  /** @returns {NetworkFields} */
  function read() {
    /** @type {any} */
    const f = {};
    for (const k of /** @type {(keyof typeof FIELDS)[]} */ (Object.keys(FIELDS))) f[k] = input(k).value;
    return f;
  }

  /** @param {NetworkFields} f */
  function fill(f) {
    for (const k of /** @type {(keyof typeof FIELDS)[]} */ (Object.keys(FIELDS))) input(k).value = f[k];
    showCustom();
  }

  function showCustom() {
    const custom = input('proxyMode').value === 'custom';
    for (const e of form.querySelectorAll('.proxy-custom')) /** @type {HTMLElement} */ (e).hidden = !custom;
  }

  function render() {
    const st = host.state.data.ui;
    if (!st) return;
    if (!dirty) fill(toFields(st.network));
    const hints = defaultHints(st.network_defaults);
    for (const [k, id] of Object.entries({
      connect: 'net-connect-default', firstByte: 'net-first-byte-default', idle: 'net-idle-default',
      deadline: 'net-deadline-default', retries: 'net-retries-default', backoff: 'net-backoff-default',
    })) $(id).textContent = hints[/** @type {keyof typeof hints} */ (k)];
    for (const [k, ms] of /** @type {const} */ ([['connect', st.network_defaults.timeouts.connect_ms],
      ['firstByte', st.network_defaults.timeouts.first_byte_ms], ['idle', st.network_defaults.timeouts.idle_ms]])) {
      input(k).placeholder = String(ms / 1000);
    }
    $('proxy-password-status').textContent = st.proxy_password_set ? t('proxy.password_set') : t('proxy.password_not_set');
    /** @type {HTMLButtonElement} */ ($('proxy-password-delete')).disabled = !st.proxy_password_set;
    // Chats: the default provider and its default model.
    const saved = st.providers.filter((p) => !p.from_env);
    providerSelect.replaceChildren(
      el('option', { value: '' }, t('settings.default_none')),
      ...saved.map((p) => el('option', { value: p.id }, p.name)),
    );
    providerSelect.value = st.default_provider ?? '';
    const def = saved.find((p) => p.id === st.default_provider);
    modelInput.disabled = !def;
    if (document.activeElement !== modelInput) modelInput.value = def?.default_model ?? '';
    $('default-models').replaceChildren(...(def?.models?.models ?? []).map((m) => el('option', { value: m })));
  }

  /** @param {string} text @param {boolean} ok */
  function result(text, ok) {
    $('network-result').textContent = ok ? text : '';
    $('network-error').textContent = ok ? '' : text;
  }

  async function save() {
    const st = host.state.data.ui;
    if (!st) return;
    const parsed = fromFields(read(), st.network_defaults);
    if (parsed.error !== null) {
      result(parsed.error, false);
      return;
    }
    try {
      await ipc.setNetwork(parsed.network);
      if (password.value && parsed.network.proxy.mode === 'custom') {
        const typed = password.value;
        password.value = '';
        await ipc.setProxyPassword(typed);
      }
      dirty = false;
      result(t('net.saved'), true);
    } catch (e) {
      result(/** @type {Error} */ (e).message, false);
    }
    await host.refresh();
  }

  form.addEventListener('input', () => {
    dirty = true;
    $('network-result').textContent = '';
  });
  input('proxyMode').addEventListener('change', showCustom);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    save();
  });
  $('network-reset').addEventListener('click', () => {
    const st = host.state.data.ui;
    if (!st) return;
    // The defaults fill the form; Save keeps them (the proxy password stays in the keychain).
    fill(toFields(st.network_defaults));
    dirty = true;
    save();
  });
  $('proxy-password-delete').addEventListener('click', async () => {
    try {
      await ipc.setProxyPassword(null);
      result(t('proxy.password_deleted'), true);
    } catch (e) {
      result(/** @type {Error} */ (e).message, false);
    }
    await host.refresh();
  });
  providerSelect.addEventListener('change', async () => {
    if (!providerSelect.value) return;
    try {
      await ipc.setDefaultProvider(providerSelect.value);
    } catch (e) {
      result(/** @type {Error} */ (e).message, false);
    }
    await host.refresh();
  });
  $('default-model-save').addEventListener('click', async () => {
    const st = host.state.data.ui;
    const p = st?.providers.find((x) => x.id === st.default_provider && !x.from_env);
    if (!p) return;
    try {
      await ipc.saveProvider({
        id: p.id, name: p.name, kind: p.kind, base_url: p.base_url, default_model: modelInput.value.trim(),
        extra_headers: p.extra_headers ?? {}, max_tokens: p.max_tokens ?? null,
      });
      result(t('editor.saved'), true);
    } catch (e) {
      result(/** @type {Error} */ (e).message, false);
    }
    await host.refresh();
  });
  // A typed password never lingers in a closed dialog.
  $('settings').addEventListener('close', () => {
    password.value = '';
    dirty = false;
  });

  return { render };
}
