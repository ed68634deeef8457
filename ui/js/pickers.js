// @ts-check
/**
 * The open conversation's provider and model: the provider and model pickers,
 * the provider line, the Thinking toggle (Anthropic), the setup banner (why
 * the provider cannot be used), and loading the provider state (`get_state`)
 * into `state.ui`. The choice itself is `state.choice`.
 */
import * as ipc from './ipc.js';
import { pickProvider } from './format.js';
import { $, el } from './dom.js';

/** @typedef {import('../types/ipc').UiState} UiState */
/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {ReturnType<typeof createPickers>} Pickers */

/**
 * @param {{state: AppState, conversationIsEmpty: () => boolean}} deps
 */
export function createPickers({ state, conversationIsEmpty }) {
  const providerSelect = /** @type {HTMLSelectElement} */ ($('provider-select'));
  const modelInput = /** @type {HTMLInputElement} */ ($('model-select'));
  const modelOptions = $('model-options');
  const thinkingToggle = /** @type {HTMLInputElement} */ ($('thinking-toggle'));
  const thinkingBudgetInput = /** @type {HTMLInputElement} */ ($('thinking-budget'));
  const setupBanner = $('setup-banner');

  /** The current conversation's provider view. */
  function currentProvider() {
    const id = state.data.choice.providerId;
    return state.data.ui?.providers.find((p) => p.id === id) ?? null;
  }

  /**
   * Sets the conversation's provider (null: the default) and model ('': its
   * default); `explicit` (when given) says whether the user or the stored
   * conversation picked it.
   * @param {string|null} providerId
   * @param {string} model
   * @param {boolean} [explicit]
   */
  function choose(providerId, model, explicit) {
    if (explicit !== undefined) state.update('choice', { explicit });
    const ui = state.data.ui;
    if (!ui) return;
    const p = pickProvider(ui.providers, ui.default_provider, providerId);
    state.update('choice', { providerId: p?.id ?? null, model: model || p?.default_model || '' });
    render();
    if (p) loadModels(p.id, false);
  }

  function render() {
    const ui = state.data.ui;
    if (!ui) return;
    const choice = state.data.choice;
    providerSelect.replaceChildren(
      ...ui.providers.map((p) => el('option', { value: p.id }, p.usable ? p.name : `${p.name} (needs a key)`)),
    );
    providerSelect.value = choice.providerId ?? '';
    modelInput.value = choice.model;
    const p = currentProvider();
    $('thinking-box').hidden = p?.kind !== 'anthropic';
    $('provider-base').textContent = p ? p.base_url : 'no provider';
    $('provider-model').textContent = choice.model;
    const problem = p && !p.usable ? p.problem : null;
    setupBanner.hidden = !problem;
    setupBanner.textContent = problem ?? '';
  }

  /**
   * Fills the model picker from the provider's /models (cached unless refresh).
   * @param {string} providerId
   * @param {boolean} refresh
   */
  async function loadModels(providerId, refresh) {
    const p = state.data.ui?.providers.find((x) => x.id === providerId);
    if (!p || (!p.usable && !refresh)) {
      modelOptions.replaceChildren();
      return;
    }
    try {
      const models = await ipc.listModels(providerId, refresh);
      if (state.data.choice.providerId !== providerId) return;
      modelOptions.replaceChildren(...models.map((m) => el('option', { value: m })));
      modelInput.title = `${models.length} models from ${p.base_url}/models; any id can be typed`;
    } catch (e) {
      modelOptions.replaceChildren();
      modelInput.title = `Could not list models: ${/** @type {Error} */ (e).message}. Type a model id.`;
    }
  }

  /**
   * Loads the provider state into `state.ui` and keeps the choice valid; an
   * error shows in the setup banner and rejects.
   * @returns {Promise<UiState>}
   */
  async function refresh() {
    /** @type {UiState} */
    let ui;
    try {
      ui = await ipc.getState();
    } catch (e) {
      setupBanner.textContent = String(/** @type {Error} */ (e).message ?? e);
      setupBanner.hidden = false;
      throw e;
    }
    state.set('ui', ui);
    if (!ui.providers.some((p) => p.id === state.data.choice.providerId)) {
      state.update('choice', { providerId: null, explicit: false });
    }
    // An empty conversation whose provider the user did not pick follows the default.
    const empty = conversationIsEmpty();
    const { providerId, model, explicit } = state.data.choice;
    if (providerId === null || (!explicit && empty)) {
      const next = pickProvider(ui.providers, ui.default_provider, null);
      // A model typed for this provider survives a refresh; a new provider brings its own.
      choose(null, next && next.id === providerId ? model : '');
    } else render();
    return ui;
  }

  /** The thinking budget to send: Anthropic providers with the toggle on only. */
  function thinkingBudget() {
    if (!thinkingToggle.checked || currentProvider()?.kind !== 'anthropic') return null;
    const n = Number(thinkingBudgetInput.value);
    return Number.isFinite(n) && n >= 1024 ? Math.round(n) : 1024;
  }

  /** @param {number|null|undefined} budget */
  function setThinking(budget) {
    thinkingToggle.checked = budget != null;
    if (budget != null) thinkingBudgetInput.value = String(budget);
  }

  providerSelect.addEventListener('change', () => choose(providerSelect.value, '', true));
  modelInput.addEventListener('input', () => {
    state.update('choice', { model: modelInput.value.trim() });
    $('provider-model').textContent = state.data.choice.model;
  });
  $('models-refresh').addEventListener('click', () => {
    const id = state.data.choice.providerId;
    if (id) loadModels(id, true);
  });

  return {
    choose,
    refresh,
    thinkingBudget,
    setThinking,
    /** A new chat: the default provider and its model. */
    followDefault: () => choose(null, '', false),
    /** The user picked a provider outside the picker (onboarding, settings). @param {string} id */
    pick: (id) => choose(id, '', false),
  };
}
