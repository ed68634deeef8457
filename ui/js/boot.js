// @ts-check
/**
 * What the app hands the page before the page's scripts run
 * (`boot_script` in src-tauri/app.rs): the theme and languages the user set
 * up, so the first frame is drawn in them without waiting for the provider
 * state, which asks the keychain. The provider state brings the same values
 * again and stays the source of every later change.
 */

/** @typedef {import('../types/ipc').Appearance} Appearance */

const THEMES = ['system', 'light', 'dark'];

/**
 * The appearance the app handed over, or null (none, or not of its shape:
 * the page then starts in the web view's language and the system theme).
 * @param {unknown} [given] the global, by default `window.__RUNNEL_BOOT__`
 * @returns {Appearance|null}
 */
export function bootAppearance(given = /** @type {any} */ (globalThis).__RUNNEL_BOOT__) {
  if (!given || typeof given !== 'object') return null;
  const a = /** @type {Record<string, unknown>} */ (given);
  const langs = a.system_languages;
  if (typeof a.theme !== 'string' || !THEMES.includes(a.theme)) return null;
  if (a.language !== null && typeof a.language !== 'string') return null;
  if (!Array.isArray(langs) || !langs.every((l) => typeof l === 'string')) return null;
  return /** @type {Appearance} */ (a);
}
