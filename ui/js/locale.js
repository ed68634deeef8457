// @ts-check
/**
 * Puts the window in the user's language: the one picked in Settings, else
 * the system's (`LANGUAGE`, `LC_ALL`, `LC_MESSAGES`, `LANG` from the backend,
 * then the web view's own), else English. The page's static strings are
 * filled at once (before the first paint, from the web view's languages)
 * and again when the provider state or the setting changes it.
 */
import { language, pickLanguage, setLanguage, t } from './i18n.js';
import { translatePage } from './dom.js';

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
  apply(pickLanguage(navigator.languages ?? [navigator.language]));

  /** The language the settings and the system ask for now. @param {string|null} [picked] */
  function wanted(picked) {
    const ui = state.data.ui;
    if (picked) return picked;
    return pickLanguage([...(ui?.system_languages ?? []), ...(navigator.languages ?? [])]);
  }

  /** @param {string|null|undefined} [picked] */
  function update(picked) {
    const lang = wanted(picked === undefined ? state.data.ui?.language ?? null : picked);
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
