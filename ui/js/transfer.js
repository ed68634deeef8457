// @ts-check
/**
 * Export of the open conversation (Markdown, Runnel JSON or a page to share, through a save
 * dialog) and import of a Runnel JSON export (through an open dialog).
 */
import * as ipc from './ipc.js';
import { $ } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./banners.js').Notices} Notices */

/**
 * @param {{state: AppState, notices: Notices, refreshList: () => Promise<void>,
 *   open: (id: string, focusMessage: string|null) => Promise<void>}} deps
 */
export function initTransfer({ state, notices, refreshList, open }) {
  for (const format of /** @type {const} */ (['md', 'json', 'html'])) {
    $(`export-${format}`).addEventListener('click', async () => {
      if (!state.data.conversation.stored) {
        notices.toast(t('transfer.nothing'));
        return;
      }
      try {
        const path = await ipc.exportConversation(state.data.conversation.id, format);
        if (path) notices.toast(t('transfer.exported', { path }));
      } catch (e) {
        notices.showError(e);
      }
    });
  }
  $('import').addEventListener('click', async () => {
    try {
      const id = await ipc.importConversation();
      if (id) {
        await refreshList();
        open(id, null);
      }
    } catch (e) {
      notices.showError(e);
    }
  });
}
