// @ts-check
/**
 * The window's language: picks one of the catalog's languages (the user's
 * setting, else the system's), looks strings up (`t`), and formats numbers
 * and dates for it. Pure: no DOM, no IPC (tested with `node --test`); the
 * page's static strings are filled by dom.js's `translatePage`.
 *
 * Provider names, model ids, and user and model text are never passed
 * through here: they are shown as they are.
 */
import { CATALOG, LANGUAGES } from './catalog.js';

export { LANGUAGES };

/** @typedef {keyof typeof CATALOG.en} Key */
/** @typedef {keyof typeof CATALOG} Lang */

/** The language every string falls back to (a catalog test keeps the others complete). */
export const FALLBACK = /** @type {Lang} */ ('en');

/**
 * The language in use, and the Intl formatters made for it: making one costs
 * about a millisecond (the sidebar formats 50 dates at start), using one
 * microseconds, so each is made once per language and options.
 * @type {{lang: Lang, formats: Map<string, Intl.NumberFormat | Intl.DateTimeFormat>}}
 */
let current = { lang: FALLBACK, formats: new Map() };

/**
 * The catalog language closest to a list of preferences, best first: BCP 47
 * tags (`de-AT`, `zh-Hans-CN`) or POSIX locales (`de_DE.UTF-8`, `zh_CN`),
 * as `LANGUAGE` (colon-separated), `LANG` and `navigator.languages` give them.
 * Unknown or empty ones are skipped; nothing known is English.
 * @param {readonly (string|null|undefined)[]} preferred
 * @returns {Lang}
 */
export function pickLanguage(preferred) {
  const known = /** @type {Lang[]} */ (Object.keys(CATALOG));
  for (const raw of preferred) {
    if (!raw) continue;
    for (const one of raw.split(':')) {
      const tag = one.split('.')[0].split('@')[0].replace(/_/g, '-').toLowerCase();
      if (!tag || tag === 'c' || tag === 'posix') continue;
      const base = tag.split('-')[0];
      // Chinese: the catalog has Simplified; Traditional (zh-TW, zh-HK, zh-Hant) is not offered as it.
      if (base === 'zh') {
        if (/-(tw|hk|mo|hant)\b/.test(tag)) continue;
        return /** @type {Lang} */ ('zh-CN');
      }
      const hit = known.find((k) => k.toLowerCase() === tag || k.toLowerCase() === base);
      if (hit) return hit;
    }
  }
  return FALLBACK;
}

/**
 * Switches the language of `t` and the formatters.
 * @param {string} lang a catalog language (anything else: English)
 */
export function setLanguage(lang) {
  current = { lang: lang in CATALOG ? /** @type {Lang} */ (lang) : FALLBACK, formats: new Map() };
}

/** The language in use (also the page's `lang`). */
export function language() {
  return current.lang;
}

/**
 * The string for `key` in the current language, with `{name}` placeholders
 * replaced by `vars` (as text). A key missing from the language falls back
 * to English, a key missing everywhere shows as itself.
 * @param {Key} key
 * @param {Record<string, string|number>} [vars]
 */
export function t(key, vars) {
  /** @type {Record<string, string>} */
  const table = CATALOG[current.lang];
  const template = table[key] ?? CATALOG[FALLBACK][key] ?? key;
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/**
 * A number for the current language (grouping, decimal sign).
 * @param {number} n
 * @param {number} [digits] fraction digits (default: none)
 */
export function formatNumber(n, digits = 0) {
  const key = `n${digits}`;
  let f = /** @type {Intl.NumberFormat|undefined} */ (current.formats.get(key));
  if (!f) {
    f = new Intl.NumberFormat(current.lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
    current.formats.set(key, f);
  }
  return f.format(n);
}

/**
 * A date and time for the current language.
 * @param {Date} date
 * @param {Intl.DateTimeFormatOptions} options
 */
export function formatDateTime(date, options) {
  const key = `d${JSON.stringify(options)}`;
  let f = /** @type {Intl.DateTimeFormat|undefined} */ (current.formats.get(key));
  if (!f) {
    f = new Intl.DateTimeFormat(current.lang, options);
    current.formats.set(key, f);
  }
  return f.format(date);
}
