// @ts-check
/**
 * The open conversation's provider and model: the one provider·model picker
 * in the header (a popover listing every provider's models, recent ones
 * first, with a filter that also takes a typed model id), the provider line
 * by the composer, the Thinking toggle (Anthropic), the setup banner (why the
 * provider cannot be used), and loading the provider state (`get_state`) into
 * `state.ui`. The choice itself is `state.choice`.
 */
import * as ipc from './ipc.js';
import { pickProvider, providerProblem, rankModels, recordRecent } from './format.js';
import { t } from './i18n.js';
import { $, el, icon, popover } from './dom.js';

/** @typedef {import('../types/ipc').UiState} UiState */
/** @typedef {import('../types/ipc').ProviderView} ProviderView */
/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {ReturnType<typeof createPickers>} Pickers */

/** Where the recently used provider·model pairs are kept (window-local, no secrets). */
const RECENT_KEY = 'runnel.recentModels';

/**
 * @param {{state: AppState, conversationIsEmpty: () => boolean}} deps
 */
export function createPickers({ state, conversationIsEmpty }) {
  const trigger = /** @type {HTMLButtonElement} */ ($('provider-select'));
  const filter = /** @type {HTMLInputElement} */ ($('model-select'));
  const list = $('picker-list');
  const thinkingToggle = /** @type {HTMLInputElement} */ ($('thinking-toggle'));
  const thinkingBudgetInput = /** @type {HTMLInputElement} */ ($('thinking-budget'));
  const setupBanner = $('setup-banner');
  /** Models listed per provider id (null: could not list; the reason). */
  /** @type {Map<string, {models: string[], error: string|null}>} */
  const models = new Map();
  const box = popover(trigger, $('picker'), { onOpen: () => openPicker(), focus: filter });
  /** The setup problem the user dismissed (shown again when it changes). */
  let dismissedProblem = '';
  $('setup-dismiss').addEventListener('click', () => {
    dismissedProblem = $('setup-banner-text').textContent ?? '';
    setupBanner.hidden = true;
  });
  $('setup-open-settings').addEventListener('click', () => $('settings-open').click());

  /** The current conversation's provider view. */
  function currentProvider() {
    const id = state.data.choice.providerId;
    return state.data.ui?.providers.find((p) => p.id === id) ?? null;
  }

  /** @returns {string[]} "provider\nmodel" pairs, most recent first */
  function recent() {
    try {
      const v = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]');
      return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
    } catch {
      return [];
    }
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

  /** The user picked a model in the picker. @param {string} providerId @param {string} model */
  function pickModel(providerId, model) {
    choose(providerId, model, true);
    try {
      localStorage.setItem(RECENT_KEY, JSON.stringify(recordRecent(recent(), `${providerId}\n${model}`)));
    } catch {
      // A window without storage just has no recent list.
    }
    box.close(true);
  }

  function render() {
    const ui = state.data.ui;
    if (!ui) return;
    const choice = state.data.choice;
    const p = currentProvider();
    trigger.value = choice.providerId ?? '';
    $('picker-label').textContent = p ? `${p.name} · ${choice.model || t('picker.no_model')}` : t('picker.no_provider');
    $('picker-status').dataset.usable = String(!!p?.usable);
    $('thinking-box').hidden = p?.kind !== 'anthropic';
    $('provider-base').textContent = p ? p.base_url : t('picker.no_provider');
    $('provider-model').textContent = choice.model;
    const problem = p ? providerProblem(p) : null;
    // Dismissed stays dismissed until the problem is another one.
    setupBanner.hidden = !problem || problem.text === dismissedProblem;
    $('setup-banner-text').textContent = problem?.text ?? '';
    // One line on screen; all of it on hover, on focus, and in the tooltip.
    $('setup-banner-text').title = problem?.text ?? '';
    $('setup-banner-text').classList.toggle('backend-text', !!problem?.backend);
    if (!box.isOpen()) return;
    renderList();
  }

  /** The picker's list: every provider with its models, filtered, recent ones first. */
  function renderList() {
    const ui = state.data.ui;
    if (!ui) return;
    const query = filter.value.trim();
    const choice = state.data.choice;
    const rec = recent();
    const groups = [];
    for (const p of ui.providers) {
      const listed = models.get(p.id);
      const names = rankModels(listed?.models ?? (p.default_model ? [p.default_model] : []), query, p.id, rec);
      const head = el('div', { class: 'picker-group-head', 'data-testid': 'picker-provider', 'data-provider-id': p.id }, [
        el('span', { class: 'status-dot', 'data-usable': String(p.usable), 'aria-hidden': 'true' }),
        el('span', { class: 'picker-provider-name' }, p.name),
        el('span', { class: 'hint' }, p.usable ? '' : t('picker.needs_key')),
      ]);
      if (listed?.error) head.append(el('span', { class: 'hint', title: listed.error }, t('picker.list_failed')));
      const items = names.map((m) => {
        const selected = p.id === choice.providerId && m === choice.model;
        const item = el('div', {
          class: 'picker-item', role: 'option', tabindex: '-1', 'data-testid': 'picker-model',
          'data-provider-id': p.id, 'data-model': m, 'aria-selected': String(selected),
        }, [el('span', { class: 'model-name' }, m)]);
        if (selected) item.append(icon('check', 'small'));
        item.addEventListener('click', () => pickModel(p.id, m));
        return item;
      });
      // A typed id that is not listed can be used with the current provider.
      if (query && p.id === choice.providerId && !names.includes(query)) {
        const use = el('div', {
          class: 'picker-item typed', role: 'option', tabindex: '-1', 'data-testid': 'picker-typed',
          'data-provider-id': p.id, 'data-model': query, 'aria-selected': 'false',
        }, t('picker.use_typed', { model: query }));
        use.addEventListener('click', () => pickModel(p.id, query));
        items.push(use);
      }
      if (query && items.length === 0) continue;
      groups.push(el('div', { class: 'picker-group', role: 'group', 'aria-label': p.name }, [head, ...items]));
    }
    if (groups.length === 0) groups.push(el('p', { class: 'hint' }, t('picker.none')));
    list.replaceChildren(...groups);
    highlight(0);
  }

  /** Marks the `n`th option as the active one (arrow keys). @param {number} n */
  function highlight(n) {
    const options = [...list.querySelectorAll('[role=option]')];
    options.forEach((o, i) => o.classList.toggle('active', i === n));
    const active = options[n];
    if (active) {
      active.id = 'picker-active';
      filter.setAttribute('aria-activedescendant', 'picker-active');
      active.scrollIntoView({ block: 'nearest' });
    } else filter.removeAttribute('aria-activedescendant');
  }

  function openPicker() {
    filter.value = '';
    renderList();
    for (const p of state.data.ui?.providers ?? []) if (p.usable) loadModels(p.id, false);
  }

  /**
   * Lists a provider's models from its /models (cached unless refresh).
   * @param {string} providerId
   * @param {boolean} refresh
   */
  async function loadModels(providerId, refresh) {
    const p = state.data.ui?.providers.find((x) => x.id === providerId);
    if (!p || (!p.usable && !refresh)) return;
    try {
      const listed = await ipc.listModels(providerId, refresh);
      models.set(providerId, { models: listed, error: null });
    } catch (e) {
      models.set(providerId, { models: models.get(providerId)?.models ?? [], error: /** @type {Error} */ (e).message });
    }
    if (box.isOpen()) renderList();
  }

  /**
   * Loads the provider state into `state.ui` and keeps the choice valid; an
   * error shows in the setup banner and rejects.
   * @returns {Promise<UiState>}
   */
  async function refresh() {
    /** @type {UiState} */
    let ui;
    const token = state.beginUiLoad();
    try {
      ui = await ipc.getState();
    } catch (e) {
      $('setup-banner-text').textContent = String(/** @type {Error} */ (e).message ?? e);
      $('setup-banner-text').classList.add('backend-text');
      setupBanner.hidden = false;
      throw e;
    }
    // A load that a later one or a local change overtook keeps the newer state.
    if (!state.finishUiLoad(token, ui)) return state.data.ui ?? ui;
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

  const samplingInputs = {
    temperature: /** @type {HTMLInputElement} */ ($('sampling-temperature')),
    top_p: /** @type {HTMLInputElement} */ ($('sampling-top-p')),
    max_tokens: /** @type {HTMLInputElement} */ ($('sampling-max-tokens')),
  };
  /** @param {HTMLInputElement} input @returns {number|null} blank: the provider's default */
  const numberOrNull = (input) => (input.value.trim() === '' ? null : Number(input.value));
  /**
   * This conversation's temperature, top-p and max tokens (null: the
   * provider's default); the backend checks the ranges.
   * @returns {import('../types/ipc').Sampling}
   */
  function sampling() {
    const max = numberOrNull(samplingInputs.max_tokens);
    return {
      temperature: numberOrNull(samplingInputs.temperature) ?? undefined,
      top_p: numberOrNull(samplingInputs.top_p) ?? undefined,
      max_tokens: max == null ? undefined : Math.round(max),
    };
  }
  function renderSampling() {
    const s = sampling();
    const parts = [];
    if (s.temperature != null) parts.push(t('sampling.short_temperature', { v: String(s.temperature) }));
    if (s.top_p != null) parts.push(t('sampling.short_top_p', { v: String(s.top_p) }));
    if (s.max_tokens != null) parts.push(t('sampling.short_max_tokens', { v: String(s.max_tokens) }));
    $('sampling-summary').textContent = parts.length ? parts.join(' · ') : t('sampling.label');
  }
  /** @param {import('../types/ipc').Sampling|null|undefined} s a conversation's, or none */
  function setSampling(s) {
    samplingInputs.temperature.value = s?.temperature == null ? '' : String(s.temperature);
    samplingInputs.top_p.value = s?.top_p == null ? '' : String(s.top_p);
    samplingInputs.max_tokens.value = s?.max_tokens == null ? '' : String(s.max_tokens);
    renderSampling();
  }
  for (const input of Object.values(samplingInputs)) input.addEventListener('input', renderSampling);
  renderSampling();

  /** @param {number|null|undefined} budget */
  function setThinking(budget) {
    thinkingToggle.checked = budget != null;
    if (budget != null) thinkingBudgetInput.value = String(budget);
  }

  filter.addEventListener('input', renderList);
  filter.addEventListener('keydown', (ev) => {
    const options = /** @type {HTMLElement[]} */ ([...list.querySelectorAll('[role=option]')]);
    const at = options.findIndex((o) => o.classList.contains('active'));
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      const step = ev.key === 'ArrowDown' ? 1 : -1;
      highlight(Math.max(0, Math.min(options.length - 1, at + step)));
    } else if (ev.key === 'Enter') {
      ev.preventDefault();
      const q = filter.value.trim();
      // An exact id of the current provider wins; else the highlighted option.
      const exact = options.find((o) => o.dataset.testid === 'picker-model' && o.dataset.model === q
        && o.dataset.providerId === state.data.choice.providerId);
      const pick = exact ?? options[at];
      if (pick?.dataset.providerId && pick.dataset.model) pickModel(pick.dataset.providerId, pick.dataset.model);
    }
  });
  $('models-refresh').addEventListener('click', () => {
    for (const p of state.data.ui?.providers ?? []) if (p.usable) loadModels(p.id, true);
  });

  return {
    choose,
    refresh,
    thinkingBudget,
    setThinking,
    sampling,
    setSampling,
    /** Re-renders the texts (the language changed). */
    render,
    /** A new chat: the default provider and its model. */
    followDefault: () => choose(null, '', false),
    /** The user picked a provider outside the picker (onboarding, settings). @param {string} id */
    pick: (id) => choose(id, '', false),
  };
}
