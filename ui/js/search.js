// @ts-check
/**
 * Full-text search over all conversations: the search field (Esc clears it,
 * Enter opens the first hit) and its results, which take the conversation
 * list's place while there is a query. A hit opens its conversation on the
 * matching message.
 */
import * as ipc from './ipc.js';
import { searchFilter, snippetParts } from './format.js';
import { $, el } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('./banners.js').Notices} Notices */
/** @typedef {ReturnType<typeof createSearch>} Search */

/**
 * @param {{notices: Notices, open: (id: string, focusMessage: string|null) => Promise<void>,
 *   showList: (on: boolean) => void, providers: () => readonly {id: string, name: string}[]}} deps
 */
export function createSearch({ notices, open, showList, providers }) {
  const input = /** @type {HTMLInputElement} */ ($('search'));
  const results = $('search-results');
  const fields = {
    role: /** @type {HTMLSelectElement} */ ($('search-role')),
    provider: /** @type {HTMLSelectElement} */ ($('search-provider')),
    model: /** @type {HTMLInputElement} */ ($('search-model')),
    since: /** @type {HTMLInputElement} */ ($('search-since')),
    until: /** @type {HTMLInputElement} */ ($('search-until')),
  };
  const filter = () => searchFilter({
    role: fields.role.value, provider: fields.provider.value, model: fields.model.value,
    since: fields.since.value, until: fields.until.value,
  });
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;

  async function run() {
    const q = input.value.trim();
    if (!q) {
      results.hidden = true;
      showList(true);
      return;
    }
    try {
      const f = filter();
      const hits = await ipc.searchConversations(q, f);
      if (input.value.trim() !== q || JSON.stringify(filter()) !== JSON.stringify(f)) return;
      results.replaceChildren();
      if (hits.length === 0) results.append(el('div', { class: 'hint', 'data-testid': 'search-empty' }, t('search.empty')));
      for (const h of hits) {
        const row = el('div', {
          class: 'search-result', 'data-testid': 'search-result', 'data-conversation-id': h.id,
          'data-message-id': h.message_id ?? '', tabindex: '0', role: 'button',
        });
        const snippet = el('div', { class: 'snippet' });
        for (const part of snippetParts(h.snippet)) snippet.append(part.mark ? el('mark', {}, part.text) : part.text);
        row.append(el('div', { class: 'title' }, h.title || t('chat.new_title')), snippet);
        row.addEventListener('click', () => open(h.id, h.message_id));
        row.addEventListener('keydown', (ev) => {
          if (ev.key === 'Enter') open(h.id, h.message_id);
        });
        results.append(row);
      }
      results.hidden = false;
      showList(false);
    } catch (e) {
      notices.showError(e);
    }
  }

  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(run, 120);
  };
  input.addEventListener('input', schedule);
  for (const f of Object.values(fields)) f.addEventListener(f instanceof HTMLSelectElement ? 'change' : 'input', schedule);
  // The providers to filter by: listed afresh whenever the filters open.
  $('search-filters').addEventListener('toggle', () => {
    const chosen = fields.provider.value;
    fields.provider.replaceChildren(
      el('option', { value: '' }, t('search.any')),
      ...providers().map((p) => el('option', { value: p.id }, p.name)),
    );
    fields.provider.value = chosen;
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      input.value = '';
      run();
    } else if (ev.key === 'Enter') {
      /** @type {HTMLElement|null} */ (results.querySelector('[data-testid="search-result"]'))?.click();
    }
  });

  return {
    /** Ctrl+K: focus the field with its text selected. */
    focus() {
      input.focus();
      input.select();
    },
  };
}
