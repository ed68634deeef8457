// @ts-check
/**
 * The header: the open conversation's title (click to rename it in place,
 * Enter saves, Esc cancels), what its answers cost, and the "⋯" menu of rare actions (export,
 * import, delete). The provider·model picker between them is pickers.js's.
 */
import * as ipc from './ipc.js';
import { t } from './i18n.js';
import { $, popover } from './dom.js';
import { formatCost } from './format.js';

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./banners.js').Notices} Notices */

/** How each app an import can come from is called. @type {Record<string, string>} */
const APP_NAMES = { chatgpt: 'ChatGPT', claude: 'Claude', 'open-webui': 'Open WebUI', llm: 'llm', runnel: 'Runnel' };

/**
 * @param {{state: AppState, notices: Notices, refreshList: () => Promise<void>, deleteOpen: () => void}} deps
 */
export function createHeader({ state, notices, refreshList, deleteOpen }) {
  const title = /** @type {HTMLButtonElement} */ ($('chat-title'));
  const input = /** @type {HTMLInputElement} */ ($('chat-title-input'));
  const menuDelete = /** @type {HTMLButtonElement} */ ($('menu-delete'));
  const cost = $('chat-cost');
  const origin = $('chat-origin');
  popover($('more-open'), $('more-menu'), { menu: true });

  function render() {
    const c = state.data.conversation;
    title.textContent = c.title || t('chat.new_title');
    title.disabled = !c.stored;
    menuDelete.disabled = !c.stored;
    document.title = c.title ? `${c.title} · Runnel` : 'Runnel';
    cost.hidden = !c.cost;
    cost.textContent = c.cost ? formatCost(c.cost) : '';
    cost.setAttribute('data-cost-usd', c.cost ? String(c.cost.usd) : '');
    origin.hidden = !c.origin;
    origin.dataset.origin = c.origin ?? '';
    origin.textContent = c.origin ? t('header.imported_from', { app: APP_NAMES[c.origin] ?? c.origin }) : '';
  }
  state.on('conversation', render);

  function startRename() {
    if (!state.data.conversation.stored) return;
    input.value = state.data.conversation.title;
    title.hidden = true;
    input.hidden = false;
    input.focus();
    input.select();
  }

  /** @param {boolean} save */
  async function endRename(save) {
    if (input.hidden) return;
    const text = input.value.trim();
    input.hidden = true;
    title.hidden = false;
    title.focus();
    const { id, title: old } = state.data.conversation;
    if (!save || !text || text === old) return;
    try {
      await ipc.renameConversation(id, text);
      if (state.data.conversation.id === id) state.update('conversation', { title: text });
      await refreshList();
    } catch (e) {
      notices.showError(e);
    }
  }

  title.addEventListener('click', startRename);
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      endRename(true);
    } else if (ev.key === 'Escape') {
      ev.preventDefault();
      ev.stopPropagation();
      endRename(false);
    }
  });
  input.addEventListener('blur', () => endRename(true));
  menuDelete.addEventListener('click', deleteOpen);

  return { render };
}
