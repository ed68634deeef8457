// @ts-check
/**
 * Keys anywhere in the window: Esc stops the answer, Ctrl+N starts a new chat,
 * Ctrl+K goes to search, Ctrl+B shows or hides the sidebar,
 * Ctrl+Shift+Backspace deletes the open chat. (Enter
 * and Shift+Enter in the composer are the composer's.)
 */
import { globalKey } from './format.js';

/** @typedef {import('./state.js').AppState} AppState */

/**
 * @param {{state: AppState, cancel: () => void, newChat: () => void,
 *   focusSearch: () => void, deleteOpen: () => void, toggleSidebar: () => void}} actions
 */
export function installShortcuts({ state, cancel, newChat, focusSearch, deleteOpen, toggleSidebar }) {
  document.addEventListener('keydown', (ev) => {
    const action = globalKey(ev);
    if (action === 'cancel' && state.data.active) {
      ev.preventDefault();
      cancel();
    } else if (action === 'new_chat') {
      ev.preventDefault();
      newChat();
    } else if (action === 'search') {
      ev.preventDefault();
      focusSearch();
    } else if (action === 'toggle_sidebar') {
      ev.preventDefault();
      toggleSidebar();
    } else if (action === 'delete_chat') {
      ev.preventDefault();
      deleteOpen();
    }
  });
}
