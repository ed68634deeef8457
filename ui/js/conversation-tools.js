// @ts-check
/**
 * The tools of the open conversation, beside the composer: every enabled
 * MCP server's tools (the servers start when the list is first opened),
 * each with a switch. A switch off keeps the model from being offered that
 * tool in this conversation only; it is stored with the conversation, or
 * sent with the first message of one not stored yet.
 */
import * as ipc from './ipc.js';
import { $, el } from './dom.js';
import { formatError } from './format.js';
import { t } from './i18n.js';

/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('../types/ipc').ConversationTools} ConversationTools */

/**
 * The names switched off after `name` is switched `on` or off.
 * @param {string[]} off
 * @param {string} name
 * @param {boolean} on
 */
export function toggled(off, name, on) {
  const rest = off.filter((n) => n !== name);
  return on ? rest : [...rest, name].sort();
}

/**
 * @param {{state: AppState, setPending: (off: string[]) => void}} deps
 */
export function createConversationTools({ state, setPending }) {
  const box = /** @type {HTMLDetailsElement} */ ($('tools-box'));
  const list = $('tools-list');
  const status = $('tools-status');
  /** @type {string[]} */
  let off = [];

  /** @param {ConversationTools} tools */
  function draw(tools) {
    off = tools.off;
    if (!tools.tools.length) {
      list.replaceChildren(el('p', { class: 'hint', 'data-testid': 'tools-empty' }, t('tools.none')));
    } else {
      list.replaceChildren(...tools.tools.map((tool) => {
        const input = /** @type {HTMLInputElement} */ (el('input', {
          type: 'checkbox', 'data-testid': 'tool-toggle', 'data-tool-name': tool.name,
        }));
        input.checked = !off.includes(tool.name);
        input.addEventListener('change', () => save(tool.name, input.checked));
        return el('label', { class: 'tool-row', title: tool.description }, [
          input, el('span', { class: 'tool-row-name' }, tool.tool), el('span', { class: 'hint' }, tool.server),
        ]);
      }));
    }
    status.textContent = tools.unavailable.map(([name, why]) => t('tools.unavailable', { name, why })).join(' ');
  }

  /** @param {string} name @param {boolean} on */
  async function save(name, on) {
    off = toggled(off, name, on);
    const { id, stored } = state.data.conversation;
    if (!stored) {
      setPending(off);
      return;
    }
    try {
      await ipc.setConversationToolsOff(id, off);
    } catch (e) {
      status.textContent = formatError(/** @type {any} */ (e));
    }
  }

  async function load() {
    status.textContent = t('tools.loading');
    try {
      draw(await ipc.conversationTools(state.data.conversation.id));
    } catch (e) {
      status.textContent = formatError(/** @type {any} */ (e));
    }
  }

  box.addEventListener('toggle', () => {
    if (box.open) load();
  });
  box.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && box.open) {
      ev.stopPropagation();
      box.open = false;
      box.querySelector('summary')?.focus();
    }
  });
  // Another conversation: the list is read again when next opened.
  let shownFor = state.data.conversation.id;
  state.on('conversation', (c) => {
    if (c.id === shownFor) return;
    shownFor = c.id;
    box.open = false;
  });
  return {};
}
