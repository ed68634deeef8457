// @ts-check
/**
 * The sidebar's list of stored conversations: newest first, paged as it is
 * scrolled, the open one marked (`aria-current`), and rename, pin, and delete
 * with Undo.
 */
import * as ipc from './ipc.js';
import { dateGroup, dateGroupLabel, formatDate } from './format.js';
import { $, drawIcons, el, icon, iconButton } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('../types/ipc').ConversationSummary} ConversationSummary */
/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./banners.js').Notices} Notices */
/** @typedef {import('./dialogs.js').Dialogs} Dialogs */
/** @typedef {ReturnType<typeof createSidebar>} Sidebar */

/** Conversations loaded per sidebar page. */
const LIST_PAGE = 50;

/**
 * @param {{state: AppState, notices: Notices, dialogs: Dialogs,
 *   open: (id: string, focusMessage: string|null) => Promise<void>, newChat: () => void}} deps
 */
export function createSidebar({ state, notices, dialogs, open, newChat }) {
  const list = $('conversation-list');
  const { showError, toast } = notices;

  function markCurrent() {
    const current = state.data.conversation.id;
    for (const item of list.querySelectorAll('[data-testid="conversation-item"]')) {
      item.setAttribute('aria-current', String(item.getAttribute('data-conversation-id') === current));
    }
  }
  // The list comes before the provider state at start: names once it is here.
  state.on('ui', labelFilter);
  state.on('conversation', (now, before) => {
    if (now.id !== before.id) markCurrent();
  });

  /** @param {ConversationSummary} c */
  function conversationItem(c) {
    const item = el('div', {
      class: 'conversation-item', 'data-testid': 'conversation-item', 'data-conversation-id': c.id,
      'aria-current': String(c.id === state.data.conversation.id),
    });
    // The item's text is one button (it opens the conversation), beside its
    // action buttons: no control inside another.
    const text = el('button', { type: 'button', class: 'text item-open' });
    const title = el('div', { class: 'title', 'data-testid': 'conversation-title' }, c.title || t('chat.new_title'));
    if (c.pinned) {
      const pin = el('span', { class: 'pin', 'data-testid': 'pinned', title: t('sidebar.pinned') }, [icon('pin', 'small')]);
      item.prepend(pin);
    }
    text.append(title, el('div', { class: 'date' }, formatDate(c.updated, Date.now())));
    const acts = el('div', { class: 'item-actions' });
    /**
     * @param {string} testid
     * @param {import('./dom.js').IconName} name icon
     * @param {string} label
     * @param {() => void} f
     */
    const mk = (testid, name, label, f) => {
      // Drawn when the item is first hovered or focused (see below).
      const b = iconButton(name, label, { 'data-testid': testid }, true);
      b.addEventListener('click', (ev) => {
        ev.stopPropagation();
        f();
      });
      acts.append(b);
    };
    mk('conversation-rename', 'pencil', t('sidebar.rename'), () => {
      dialogs.text({ title: t('sidebar.rename_prompt'), value: c.title, ok: t('common.save') }).then((name) => {
        if (name) ipc.renameConversation(c.id, name).then(refresh, showError);
      });
    });
    mk('conversation-pin', c.pinned ? 'pin-off' : 'pin', c.pinned ? t('sidebar.unpin') : t('sidebar.pin'), () => {
      ipc.pinConversation(c.id, !c.pinned).then(refresh, showError);
    });
    mk('conversation-delete', 'trash-2', t('sidebar.delete'), () => remove(c.id, c.title));
    item.append(text, acts);
    item.addEventListener('click', () => open(c.id, null));
    return item;
  }

  /** Reloads the sidebar's first page. */
  async function refresh() {
    state.update('sidebar', { gen: state.data.sidebar.gen + 1, cursor: null, done: false, loading: false });
    await loadMore();
  }

  /** The group of the last item listed ('' before the first page). */
  let lastGroup = '';
  /** Only conversations answered by this provider or model (the list filter). */
  let by = { provider: /** @type {string|null} */ (null), model: /** @type {string|null} */ (null) };
  const filter = /** @type {HTMLSelectElement} */ ($('list-filter'));

  /** @type {{providers: string[], models: string[]}|null} the answerers last listed */
  let answerers = null;

  /** The filter's choices: every provider and model that answered (kept while chosen). */
  async function fillFilter() {
    try {
      answerers = await ipc.listAnswerers();
    } catch {
      return;
    }
    labelFilter();
  }

  /** Draws the filter's choices, with the providers' names as the provider state has them. */
  function labelFilter() {
    const found = answerers;
    if (!found) return;
    const chosen = filter.value;
    const names = new Map((state.data.ui?.providers ?? []).map((p) => [p.id, p.name]));
    const group = (/** @type {string} */ label, /** @type {string} */ kind, /** @type {string[]} */ ids) =>
      el('optgroup', { label }, ids.map((id) => el('option', { value: `${kind}:${id}` }, names.get(id) ?? id)));
    filter.replaceChildren(
      el('option', { value: '' }, t('sidebar.filter_all')),
      group(t('sidebar.filter_providers'), 'provider', found.providers),
      group(t('sidebar.filter_models'), 'model', found.models),
    );
    filter.value = chosen;
    if (filter.value !== chosen) filter.value = '';
    filter.hidden = found.providers.length + found.models.length < 2 && !chosen;
  }
  filter.addEventListener('change', () => {
    const [kind, ...rest] = filter.value.split(':');
    const id = rest.join(':') || null;
    by = { provider: kind === 'provider' ? id : null, model: kind === 'model' ? id : null };
    refresh();
  });

  async function loadMore() {
    const sidebar = state.data.sidebar;
    if (sidebar.loading || sidebar.done) return;
    state.update('sidebar', { loading: true });
    const gen = sidebar.gen;
    const first = sidebar.cursor === null;
    try {
      if (first) fillFilter();
      const page = await ipc.listConversations(sidebar.cursor, LIST_PAGE, by);
      if (gen !== state.data.sidebar.gen) return;
      // The first page replaces the list in one step (no flash, no mixed pages).
      if (first) {
        list.replaceChildren();
        lastGroup = '';
      }
      const now = Date.now();
      for (const c of page) {
        // A heading where the group changes (Pinned, Today, ..., a month); a
        // later page goes on under the last page's heading.
        const group = dateGroup(c.updated, now, c.pinned);
        if (group !== lastGroup) {
          list.append(el('div', { class: 'date-group', 'data-testid': 'date-group', 'data-group': group }, dateGroupLabel(group)));
          lastGroup = group;
        }
        list.append(conversationItem(c));
        // The header shows the open conversation's title (it gets one after its first answer).
        const open = state.data.conversation;
        if (c.id === open.id && c.title !== open.title) state.update('conversation', { title: c.title });
      }
      const last = page[page.length - 1];
      if (last) state.update('sidebar', { cursor: { pinned: last.pinned, updated: last.updated, id: last.id } });
      state.update('sidebar', { done: page.length < LIST_PAGE });
    } catch (e) {
      state.update('sidebar', { done: true });
    } finally {
      if (gen === state.data.sidebar.gen) state.update('sidebar', { loading: false });
    }
  }

  // An item's action buttons show only on hover and focus: their icons are
  // drawn then, once, not for every item listed.
  /** @param {Event} ev */
  const drawActions = (ev) => {
    const item = /** @type {Element} */ (ev.target).closest?.('.conversation-item');
    if (item) drawIcons(item);
  };
  list.addEventListener('pointerover', drawActions);
  list.addEventListener('focusin', drawActions);

  list.addEventListener('scroll', () => {
    if (list.scrollTop + list.clientHeight > list.scrollHeight - 200) loadMore();
  });

  /**
   * Deletes after a confirm; Undo brings it back for a few seconds.
   * @param {string} id
   * @param {string} title
   */
  async function remove(id, title) {
    const sure = await dialogs.confirm({
      title: t('sidebar.delete_confirm', { title: title || t('chat.new_title') }), ok: t('sidebar.delete'), danger: true,
    });
    if (!sure) return;
    try {
      const token = await ipc.deleteConversation(id);
      if (id === state.data.conversation.id) newChat();
      await refresh();
      toast(t('sidebar.deleted', { title: title || t('chat.new_title') }), async () => {
        const restored = await ipc.undoDelete(token);
        await refresh();
        open(restored, null);
      });
    } catch (e) {
      showError(e);
    }
  }

  return {
    refresh,
    remove,
    /** Deletes the open conversation (Ctrl+Shift+Backspace) once it is stored. */
    removeOpen() {
      const { id, stored } = state.data.conversation;
      const item = list.querySelector(`[data-conversation-id="${CSS.escape(id)}"]`);
      if (stored) remove(id, item?.querySelector('.title')?.textContent ?? '');
    },
    /** Shows or hides the list (search results take its place). @param {boolean} on */
    showList(on) {
      list.hidden = !on;
    },
  };
}
