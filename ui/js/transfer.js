// @ts-check
/**
 * Export of the open conversation (Markdown, Runnel JSON or a page to share, through a save
 * dialog) and import of conversations (through an open dialog): Runnel's JSON,
 * ChatGPT's, Claude's and Open WebUI's exports, llm's logs.db.
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
      const r = await ipc.importConversation();
      if (!r) return;
      await refreshList();
      // One new conversation opens; more are in the list.
      if (r.imported.length === 1) open(r.imported[0], null);
      const why = r.rejected[0] ?? r.skipped[0];
      notices.toast(t('transfer.imported', {
        imported: String(r.imported.length), skipped: String(r.skipped.length), rejected: String(r.rejected.length),
      }) + (why ? ` ${why.title}: ${why.reason}` : ''));
    } catch (e) {
      notices.showError(e);
    }
  });
}
