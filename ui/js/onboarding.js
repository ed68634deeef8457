// @ts-check
/**
 * First-run onboarding (pick a provider, paste its key, start) and the
 * banners about the settings file (moved aside) and the environment's keys
 * (save them to the keychain). They re-render whenever `state.ui` changes.
 */
import * as ipc from './ipc.js';
import { formatError } from './format.js';
import { $, el } from './dom.js';

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
  $('onboarding-custom').addEventListener('click', () => host.openNewProvider());

  // The banners about the settings file and the environment.
  let envDismissed = false;
  function renderBanners() {
    const st = state();
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

  function render() {
    renderOnboarding();
    renderBanners();
  }
  host.state.on('ui', render);
}
