// @ts-check
/**
 * Links in answers: a link whose text is not its target is shown in full
 * before it opens (a model can write `[your bank](https://evil.example)`).
 * Pure: no DOM, no IPC.
 */

/**
 * The target without what people leave out when they write a link.
 * @param {string} s
 */
function bare(s) {
  return s
    .trim()
    .toLowerCase()
    .replace(/^(https?:\/\/|mailto:)/, '')
    .replace(/^www\./, '')
    .replace(/\/+$/, '');
}

/**
 * True when the visible text of a link does not show where it goes.
 * @param {string} text what the link shows
 * @param {string} href where it goes
 */
export function hidesItsTarget(text, href) {
  return bare(text) !== bare(href);
}
