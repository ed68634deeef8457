// @ts-check
/**
 * Puts the window in the user's language: the one picked in Settings, else
 * the system's (`LANGUAGE`, `LC_ALL`, `LC_MESSAGES`, `LANG` from the backend,
 * then the web view's own), else English. The page's static strings are
 * filled at once (before the first paint, in the language the app handed
 * over before the scripts ran: boot.js) and again when the provider state or
 * the setting changes it.
 */
import { language, pickLanguage, setLanguage, t } from './i18n.js';
import { translatePage } from './dom.js';
import { bootAppearance } from './boot.js';

/** @typedef {import('./state.js').AppState} AppState */

/**
 * @param {{state: AppState, rerender: () => void}} deps
 */
export function createLocale({ state, rerender }) {
  /** @param {string} lang */
  function apply(lang) {
    setLanguage(lang);
    translatePage(t, language());
  }
  /**
   * The language the settings and the system ask for.
   * @param {string|null} picked in Settings
   * @param {string[]} system the system's, from the backend
   */
  function wanted(picked, system) {
    if (picked) return picked;
    return pickLanguage([...system, ...(navigator.languages ?? [navigator.language])]);
  }
  const boot = bootAppearance();
  apply(wanted(boot?.language ?? null, boot?.system_languages ?? []));

  /** @param {string|null|undefined} [picked] */
  function update(picked) {
    const ui = state.data.ui;
    const lang = wanted(picked === undefined ? ui?.language ?? null : picked, ui?.system_languages ?? []);
    if (lang === language()) return;
    apply(lang);
    rerender();
  }
  state.on('ui', () => update());

  return {
    /** The user picked a language in Settings (null: the system's). @param {string|null} lang */
    choose: (lang) => update(lang),
  };
}
