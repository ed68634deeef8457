// @ts-check
/**
 * Named system prompts as Settings edits them: add, rename, change, delete,
 * then Save. Edits in progress survive a state refresh; closing the dialog
 * drops them. (prompts.js offers the saved ones in the chat.) Imported when
 * the settings dialog first opens (settings.js).
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
export function createPromptEditor(host) {
  const list = $('prompt-list');
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
    if (dirty) return;
    list.replaceChildren(...(host.state.data.ui?.system_prompts ?? []).map(row));
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
  $('settings').addEventListener('close', () => {
    dirty = false;
    render();
  });
  host.state.on('ui', render);
  render();

  return { render };
}
