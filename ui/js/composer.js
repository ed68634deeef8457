// @ts-check
/**
 * The composer: the message field (Enter sends, Shift+Enter adds a line; it
 * grows with its text) and edit mode (editing one of the user's messages, with its
 * banner and Cancel). Edit mode is `state.editing`; the banner follows it, so
 * leaving edit mode is one call, `leaveEditMode`.
 */
import { composerKey } from './format.js';
import { $ } from './dom.js';

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {ReturnType<typeof createComposer>} Composer */

/**
 * @param {{state: AppState, onSend: () => void}} deps
 */
export function createComposer({ state, onSend }) {
  const input = /** @type {HTMLTextAreaElement} */ ($('composer'));
  const banner = $('editing-banner');

  function autosize() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight + 2, window.innerHeight * 0.4)}px`;
  }

  /** Leaves edit mode (the banner goes with it); the text stays. */
  function leaveEditMode() {
    state.set('editing', false);
  }

  input.addEventListener('keydown', (ev) => {
    const action = composerKey(ev);
    if (action === 'send') {
      ev.preventDefault();
      onSend();
    }
  });
  input.addEventListener('input', autosize);
  state.on('editing', (on) => {
    banner.hidden = !on;
  });
  $('edit-cancel').addEventListener('click', () => {
    leaveEditMode();
    input.value = '';
  });

  return {
    /** The text as typed. */
    text: () => input.value,
    /** Empties the field (and shrinks it back). */
    clear() {
      input.value = '';
      autosize();
    },
    /**
     * Puts text in the field (a kept draft), as if typed.
     * @param {string} text
     */
    set(text) {
      input.value = text;
      autosize();
    },
    /** @param {() => void} f called as the user types */
    onInput: (f) => input.addEventListener('input', f),
    focus: () => input.focus(),
    /**
     * Puts a user message's text in the field to edit and send it as a new branch.
     * @param {string} text
     */
    edit(text) {
      state.set('editing', true);
      input.value = text;
      autosize();
      input.focus();
    },
    leaveEditMode,
  };
}
