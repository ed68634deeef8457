// @ts-check
/**
 * Named system prompts: edited in Settings (add, rename, change, delete,
 * then Save), and offered by the conversation's system prompt box, where
 * picking one puts its text in the box.
 */
import * as ipc from './ipc.js';
import { t } from './i18n.js';
import { $, el, iconButton } from './dom.js';

/** @typedef {import('../types/ipc').UiState} UiState */
/** @typedef {import('../types/ipc').SystemPromptPreset} SystemPromptPreset */
/** @typedef {import('./state.js').AppState} AppState */

/**
 * @param {{state: AppState, refresh: () => Promise<UiState>}} host
 */
export function createPrompts(host) {
  const list = $('prompt-list');
  const picker = /** @type {HTMLSelectElement} */ ($('system-preset'));
  const box = /** @type {HTMLTextAreaElement} */ ($('system-prompt'));
  /** Edited since the list was last filled: a refresh does not overwrite it. */
  let dirty = false;

  /** @param {SystemPromptPreset} p */
  function row(p) {
    const name = el('input', { class: 'prompt-name', 'data-testid': 'prompt-name', 'aria-label': t('prompts.name'), placeholder: t('prompts.name'), maxlength: '120' });
    name.value = p.name;
    const text = el('textarea', { class: 'prompt-text', 'data-testid': 'prompt-text', rows: '2', 'aria-label': t('prompts.text'), placeholder: t('prompts.text') });
    text.value = p.text;
    const del = iconButton('trash-2', t('prompts.delete'), { 'data-testid': 'prompt-delete' });
    const r = el('div', { class: 'prompt-row', 'data-testid': 'prompt-row' }, [name, text, del]);
    del.addEventListener('click', () => {
      r.remove();
      dirty = true;
    });
    return r;
  }

  /** @returns {SystemPromptPreset[]} */
  function read() {
    return [...list.querySelectorAll('[data-testid=prompt-row]')].map((r) => ({
      name: /** @type {HTMLInputElement} */ (r.querySelector('.prompt-name')).value,
      text: /** @type {HTMLTextAreaElement} */ (r.querySelector('.prompt-text')).value,
    }));
  }

  function render() {
    const prompts = host.state.data.ui?.system_prompts ?? [];
    if (!dirty) list.replaceChildren(...prompts.map(row));
    picker.replaceChildren(
      el('option', { value: '' }, t('prompts.use')),
      ...prompts.map((p, i) => el('option', { value: String(i) }, p.name)),
    );
    picker.hidden = prompts.length === 0;
  }

  list.addEventListener('input', () => {
    dirty = true;
  });
  $('prompt-add').addEventListener('click', () => {
    const r = row({ name: '', text: '' });
    list.append(r);
    dirty = true;
    /** @type {HTMLInputElement} */ (r.querySelector('.prompt-name')).focus();
  });
  $('prompts-save').addEventListener('click', async () => {
    $('prompts-error').textContent = '';
    $('prompts-result').textContent = '';
    try {
      await ipc.setSystemPrompts(read());
      dirty = false;
      // Saved means in force: the chat's box offers them once this returns.
      await host.refresh();
      $('prompts-result').textContent = t('editor.saved');
    } catch (e) {
      $('prompts-error').textContent = /** @type {Error} */ (e).message;
    }
  });
  picker.addEventListener('change', () => {
    const p = host.state.data.ui?.system_prompts[Number(picker.value)];
    if (p) {
      box.value = p.text;
      box.focus();
    }
    picker.value = '';
  });
  $('settings').addEventListener('close', () => {
    dirty = false;
    render();
  });
  host.state.on('ui', render);

  return { render };
}
