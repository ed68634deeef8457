// @ts-check
/**
 * The window's own dialogs for a confirmation or a line of text, in place of
 * the browser's `confirm()` and `prompt()` (which the macOS webview never
 * shows). One modal `<dialog id="ask">` in index.html: the rest of the page
 * is inert while it is open, so the focus stays inside; Enter confirms, Esc
 * cancels, and the focus goes back where it was.
 */
import { $ } from './dom.js';

/** @typedef {ReturnType<typeof createDialogs>} Dialogs */

/**
 * @typedef {object} Ask
 * @property {string} title what is asked (the dialog's name)
 * @property {string} ok the confirming button's label
 * @property {string} [message] more text under the title
 * @property {string} [value] a line of text to edit (a text dialog when given)
 * @property {boolean} [danger] the confirming button deletes something
 */

export function createDialogs() {
  const dialog = /** @type {HTMLDialogElement} */ ($('ask'));
  const form = /** @type {HTMLFormElement} */ ($('ask-form'));
  const title = $('ask-title');
  const message = $('ask-message');
  const input = /** @type {HTMLInputElement} */ ($('ask-input'));
  const ok = /** @type {HTMLButtonElement} */ ($('ask-ok'));
  /** Settles the open dialog's promise (null: cancelled). @type {((v: string|null) => void)|null} */
  let settle = null;
  /** @type {Element|null} */
  let returnFocus = null;

  /** @param {string|null} value */
  function finish(value) {
    const done = settle;
    settle = null;
    if (dialog.open) dialog.close();
    if (returnFocus instanceof HTMLElement && returnFocus.isConnected) returnFocus.focus();
    done?.(value);
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    finish(input.hidden ? '' : input.value);
  });
  $('ask-cancel').addEventListener('click', () => finish(null));
  // Esc (the dialog's cancel) and any other close.
  dialog.addEventListener('cancel', (ev) => {
    ev.preventDefault();
    finish(null);
  });
  dialog.addEventListener('close', () => {
    if (settle) finish(null);
  });

  /**
   * Opens the dialog; resolves to the text (a text dialog), '' (a confirmation
   * confirmed) or null (cancelled).
   * @param {Ask} ask
   * @returns {Promise<string|null>}
   */
  function open(ask) {
    // A second question replaces an unanswered one (as cancelled).
    if (settle) finish(null);
    returnFocus = document.activeElement;
    title.textContent = ask.title;
    message.textContent = ask.message ?? '';
    message.hidden = !ask.message;
    input.hidden = ask.value === undefined;
    input.value = ask.value ?? '';
    input.setAttribute('aria-label', ask.title);
    ok.textContent = ask.ok;
    ok.classList.toggle('danger', Boolean(ask.danger));
    ok.classList.toggle('primary', !ask.danger);
    const answer = new Promise((resolve) => {
      settle = resolve;
    });
    dialog.showModal();
    if (input.hidden) {
      ok.focus();
    } else {
      input.focus();
      input.select();
    }
    return /** @type {Promise<string|null>} */ (answer);
  }

  return {
    /**
     * Asks for a yes: true when confirmed (Enter or the button), false on Esc
     * or Cancel.
     * @param {Omit<Ask, 'value'>} ask
     */
    async confirm(ask) {
      return (await open(ask)) !== null;
    },
    /**
     * Asks for a line of text: the text as typed (trimmed), or null when
     * cancelled or left empty.
     * @param {Ask & {value: string}} ask
     */
    async text(ask) {
      const v = await open(ask);
      return v && v.trim() ? v.trim() : null;
    },
  };
}
