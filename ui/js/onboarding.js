// @ts-check
/**
 * First-run onboarding (pick a provider, paste its key, start) and the
 * banners about the settings file (moved aside) and the environment's keys
 * (save them to the keychain). They re-render whenever `state.ui` changes.
 */
import * as ipc from './ipc.js';
import { formatBytes, formatDownload, formatError, newId } from './format.js';
import { $, el } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('../types/ipc').UiState} UiState */
/** @typedef {import('./state.js').AppState} AppState */

/**
 * @param {{state: AppState, refresh: () => Promise<UiState>, onProviderChosen: (id: string) => void,
 *   openNewProvider: () => void}} host
 */
export function createOnboarding(host) {
  const state = () => host.state.data.ui;

  function providerById(/** @type {string|null} */ id) {
    return state()?.providers.find((p) => p.id === id) ?? null;
  }

  const obPreset = /** @type {HTMLSelectElement} */ ($('onboarding-preset'));
  const obKey = /** @type {HTMLInputElement} */ ($('onboarding-key'));
  const obForce = $('onboarding-force');
  function renderOnboarding() {
    const st = state();
    const box = $('onboarding');
    box.hidden = !st?.onboarding;
    if (!st?.onboarding) return;
    if (obPreset.options.length === 0) {
      // Nothing is preselected that is not there: a local server's preset
      // only once something answers on its port (probeLocal).
      // The built-in local models have their own button (Chat offline).
      const servers = st.providers.filter((p) => !p.from_env && p.kind !== 'local');
      obPreset.append(el('option', { value: '' }, t('onboarding.choose')));
      for (const p of servers) obPreset.append(el('option', { value: p.id }, p.name));
      probeLocal(servers.filter((p) => !p.needs_key));
      describeOffline();
    } else {
      obPreset.options[0].textContent = t('onboarding.choose');
    }
    const p = providerById(obPreset.value);
    obKey.hidden = !p?.needs_key;
    $('onboarding-hint').textContent = p
      ? p.needs_key
        ? t('onboarding.needs_key', { name: p.name, url: `${p.base_url}/models` })
        : t('onboarding.local', { name: p.name, url: p.base_url })
      : '';
  }
  /** The user chose in the preset list: a probe answering later changes nothing. */
  let touched = false;
  /**
   * Asks each local server preset for its models; the first that answers is
   * preselected (unless the user chose already).
   * @param {import('../types/ipc').ProviderView[]} local
   */
  async function probeLocal(local) {
    for (const p of local) {
      const answered = await ipc.listModels(p.id, true).then(() => true, () => false);
      if (answered && !touched && !obPreset.value) {
        obPreset.value = p.id;
        renderOnboarding();
        return;
      }
    }
  }
  obPreset.addEventListener('change', () => {
    touched = true;
    obForce.hidden = true;
    $('onboarding-error').textContent = '';
    renderOnboarding();
  });
  async function startOnboarding(/** @type {boolean} */ force) {
    const id = obPreset.value;
    const p = providerById(id);
    if (!p) {
      $('onboarding-error').textContent = t('onboarding.choose_first');
      obPreset.focus();
      return;
    }
    $('onboarding-error').textContent = '';
    obForce.hidden = true;
    try {
      if (p.needs_key) {
        if (!obKey.value.trim()) {
          $('onboarding-error').textContent = t('onboarding.paste_key', { name: p.name });
          return;
        }
        const r = await ipc.setApiKey(id, obKey.value, force);
        if (!r.stored) {
          $('onboarding-error').textContent = `${t('key.not_saved')} ${r.test_error ? formatError(r.test_error) : ''}`.trim();
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

  // "Chat offline on this computer": the catalog's default model, downloaded
  // once with its progress, then the local provider is the default.
  /** @type {import('./ipc.js').LocalModelsView|null} */
  let local = null;
  async function describeOffline() {
    try {
      local = await ipc.localModels();
    } catch {
      local = null;
    }
    const m = local?.catalog.find((c) => c.id === local?.default_model);
    $('onboarding-offline-hint').textContent = m
      ? t('onboarding.offline_hint', { name: m.name, size: formatBytes(m.size) })
      : '';
  }
  /** @type {string|null} the running download's stream id */
  let pulling = null;
  async function chatOffline() {
    if (pulling) return;
    const error = $('model-download-error');
    error.textContent = '';
    if (!local) await describeOffline();
    const id = local?.installed.find((m) => !m.problem)?.id ?? local?.default_model;
    if (!id) return;
    const box = $('model-download');
    const bar = /** @type {HTMLProgressElement} */ ($('model-download-bar'));
    const text = $('model-download-text');
    const button = /** @type {HTMLButtonElement} */ ($('onboarding-offline'));
    pulling = newId();
    button.disabled = true;
    try {
      if (!local?.installed.some((m) => m.id === id)) {
        box.hidden = false;
        bar.removeAttribute('value');
        text.textContent = '';
        await ipc.pullModel(pulling, id, (msg) => {
          if (msg.kind === 'progress') {
            const p = formatDownload(msg);
            if (p.percent == null) bar.removeAttribute('value');
            else bar.value = p.percent;
            text.textContent = p.text;
          } else {
            text.textContent = t(msg.kind === 'verifying' ? 'download.verifying' : 'download.resuming');
          }
        });
      }
      await ipc.setDefaultProvider('local');
      host.onProviderChosen('local');
      box.hidden = true;
    } catch (e) {
      const err = /** @type {import('./ipc.js').CommandError} */ (e);
      box.hidden = true;
      error.textContent = err.kind === 'invalid' ? t('download.cancelled') : formatError({ kind: err.kind, message: err.message });
    } finally {
      pulling = null;
      button.disabled = false;
    }
    await host.refresh();
  }
  $('onboarding-offline').addEventListener('click', () => chatOffline());
  $('model-download-cancel').addEventListener('click', () => {
    if (pulling) ipc.cancelStream(pulling);
  });
  obForce.addEventListener('click', () => startOnboarding(true));
  $('onboarding-custom').addEventListener('click', () => host.openNewProvider());

  // The banners about the settings file and the environment.
  let envDismissed = false;
  let noticeDismissed = false;
  $('notice-dismiss').addEventListener('click', () => {
    noticeDismissed = true;
    renderBanners();
  });
  function renderBanners() {
    const st = state();
    const notice = $('notice-banner');
    notice.hidden = !st?.notice || noticeDismissed;
    $('notice-banner-text').textContent = st?.notice ?? '';
    $('notice-banner-text').title = st?.notice ?? '';
    const env = st?.env_import;
    const banner = $('env-banner');
    const alreadySaved = st?.providers.some((p) => !p.from_env && p.key.saved && st.default_provider === p.id);
    const importable = !!env && (env.openai_key || !!env.base_url || env.anthropic_key);
    banner.hidden = envDismissed || !env || !importable || !!alreadySaved;
    $('env-import').hidden = !importable;
    const parts = [];
    if (env?.openai_key) {
      parts.push(env.base_url ? t('env.openai_key_for', { url: env.base_url }) : t('env.openai_key'));
    } else if (env?.base_url) {
      // A base URL alone has no key: it is saved as a provider, not to the keychain.
      parts.push(t('env.base_url', { url: env.base_url }));
    }
    if (env?.anthropic_key) parts.push(t('env.anthropic_key'));
    $('env-banner-text').textContent = parts.join(' ');
    $('env-banner-text').title = parts.join(' ');
    const anyKey = !!env && (env.openai_key || env.anthropic_key);
    $('env-import').textContent = anyKey ? t('env.save_key') : t('env.save_provider');
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

  function render() {
    renderOnboarding();
    renderBanners();
  }
  host.state.on('ui', render);
  return { render };
}
