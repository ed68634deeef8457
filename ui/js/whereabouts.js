// @ts-check
/**
 * Where the user was, kept across starts in the window's state (the backend's
 * window-state.json): the sidebar's layout, the open conversation, and each
 * conversation's unsent draft. Restored once at start; afterwards every change
 * is sent as it happens (drafts a moment after the typing stops).
 */
import * as ipc from './ipc.js';
import { draftChange, draftKey } from './drafts-model.js';

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./composer.js').Composer} Composer */
/** @typedef {import('./banners.js').Notices} Notices */
/** @typedef {import('./layout.js').Layout} Layout */
/** @typedef {import('../types/ipc').Draft} Draft */

/** A draft is kept this long after the last key press (ms). */
const DRAFT_DELAY = 300;

/**
 * @param {{state: AppState, composer: Composer, notices: Notices,
 *   layout: {apply: (l: {collapsed: boolean, width: number|null}) => void, current: () => Layout},
 *   open: (id: string, focusMessage: string|null) => Promise<void>}} deps
 */
export function createWhereabouts({ state, composer, notices, layout, open }) {
  /** Kept drafts by key. @type {Map<string, string>} */
  const drafts = new Map();
  /** @type {ReturnType<typeof setTimeout>|null} */
  let timer = null;
  let key = draftKey(state.data.conversation);
  let restored = false;

  /** @param {string} k @param {string} text */
  function keep(k, text) {
    if ((drafts.get(k) ?? '') === text) return;
    if (text) drafts.set(k, text);
    else drafts.delete(k);
    ipc.setDraft(k, text).catch(notices.showError);
  }

  /** Stops a waiting keep. @returns {boolean} whether one was waiting */
  function stopTimer() {
    if (timer === null) return false;
    clearTimeout(timer);
    timer = null;
    return true;
  }

  /** Keeps the typed text now, if a keep was waiting. */
  function flush() {
    if (stopTimer()) keep(key, composer.text());
  }

  function keepView() {
    if (!restored) return;
    const { collapsed, width } = layout.current();
    const c = state.data.conversation;
    ipc.setView({
      sidebar_width: width, sidebar_collapsed: collapsed, open_conversation: c.stored ? c.id : null,
    }).catch(notices.showError);
  }

  composer.onInput(() => {
    stopTimer();
    timer = setTimeout(() => {
      timer = null;
      keep(key, composer.text());
    }, DRAFT_DELAY);
  });
  // A sent message takes its draft with it (the composer was emptied).
  state.on('active', (now) => {
    if (now && !composer.text()) {
      stopTimer();
      keep(key, '');
    }
  });
  state.on('conversation', (now, before) => {
    const change = draftChange(before, now);
    if (change === 'sent') {
      keep(key, '');
      key = draftKey(now);
    } else if (change === 'switch') {
      flush();
      key = draftKey(now);
      composer.set(drafts.get(key) ?? '');
    }
    if (now.id !== before.id || now.stored !== before.stored) keepView();
  });
  // Closing the window keeps what was typed in the last moment.
  window.addEventListener('pagehide', flush);

  return {
    /** @param {Layout} _layout the sidebar changed */
    layoutChanged: (_layout) => keepView(),
    /**
     * Puts the window back where it was (at start): the sidebar, the open
     * conversation (if it still exists), its draft; a notice when the kept
     * state was damaged.
     */
    async restore() {
      try {
        const { view, notice } = await ipc.getView();
        layout.apply({ collapsed: view.sidebar_collapsed, width: view.sidebar_width });
        for (const [k, d] of Object.entries(view.drafts)) {
          if (d) drafts.set(k, d.text);
        }
        if (view.open_conversation) {
          // Gone since (deleted elsewhere): the new chat stays.
          await open(view.open_conversation, null).catch(() => {});
        }
        key = draftKey(state.data.conversation);
        if (!composer.text()) composer.set(drafts.get(key) ?? '');
        if (notice) notices.toast(notice);
      } catch (e) {
        notices.showError(e);
      } finally {
        restored = true;
      }
    },
  };
}
