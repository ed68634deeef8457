// @ts-check
/**
 * Named system prompts in the chat: the conversation's system prompt box
 * offers the saved ones, and picking one puts its text in the box.
 * (Settings edits them: settings-prompts.js.)
 */
import { t } from './i18n.js';
import { $, el } from './dom.js';

/** @typedef {import('./state.js').AppState} AppState */

/**
 * @param {{state: AppState}} host
 */
export function createPrompts(host) {
  const picker = /** @type {HTMLSelectElement} */ ($('system-preset'));
  const box = /** @type {HTMLTextAreaElement} */ ($('system-prompt'));

  function render() {
    const prompts = host.state.data.ui?.system_prompts ?? [];
    picker.replaceChildren(
      el('option', { value: '' }, t('prompts.use')),
      ...prompts.map((p, i) => el('option', { value: String(i) }, p.name)),
    );
    picker.hidden = prompts.length === 0;
  }

  picker.addEventListener('change', () => {
    const p = host.state.data.ui?.system_prompts[Number(picker.value)];
    if (p) {
      box.value = p.text;
      box.focus();
    }
    picker.value = '';
  });
  host.state.on('ui', render);

  return { render };
}
