// @ts-check
/**
 * The settings dialog, built on its first opening: its markup waits in
 * index.html's `<template id="settings-template">` and its modules
 * (settings-view.js with settings-network.js, and settings-prompts.js) are
 * imported then, so a window whose user does not open Settings carries
 * neither. The theme is applied from here at every state change.
 */
import { $, applyTheme, drawIcons, translatePage } from './dom.js';
import { bootAppearance } from './boot.js';
import { language, t } from './i18n.js';

/** @typedef {import('../types/ipc').UiState} UiState */
/** @typedef {import('./state.js').AppState} AppState */
/**
 * @typedef {{state: AppState, dialogs: import('./dialogs.js').Dialogs, refresh: () => Promise<UiState>,
 *   onLanguage: (lang: string|null) => void, onRestored: () => void}} Host
 * @typedef {{open: () => void, openNew: () => void, openBackups: () => void, render: () => void}} SettingsView
 * @typedef {{render: () => void}} PromptEditor
 * @typedef {{view: SettingsView, prompts: PromptEditor}} Built
 */

/** Puts the dialog's markup in the page, in the window's language. */
function mount() {
  const template = /** @type {HTMLTemplateElement} */ ($('settings-template'));
  const dialog = /** @type {Element} */ (template.content.firstElementChild);
  template.replaceWith(template.content);
  translatePage(t, language(), dialog);
  drawIcons(dialog);
}

/**
 * @param {Host} host
 */
export function createSettings(host) {
  /** @type {Built|null} */
  let built = null;
  /** @type {Promise<Built>|null} */
  let loading = null;

  /** The dialog, built once. @returns {Promise<Built>} */
  function load() {
    loading ??= (async () => {
      const [{ createSettingsView }, { createPromptEditor }] = await Promise.all([
        import('./settings-view.js'),
        import('./settings-prompts.js'),
      ]);
      mount();
      built = { view: createSettingsView(host), prompts: createPromptEditor(host) };
      return built;
    })();
    return loading;
  }

  /** Opens the dialog (building it the first time). */
  const open = () => load().then((b) => b.view.open());
  $('settings-open').addEventListener('click', open);
  // The first frame in the user's theme; then the provider state's.
  applyTheme(bootAppearance()?.theme ?? 'system');
  host.state.on('ui', (ui) => {
    if (ui) applyTheme(ui.theme);
  });

  return {
    open,
    /** Opens the dialog on a new provider's form. */
    openNew: () => load().then((b) => b.view.openNew()),
    /** Opens the dialog at its backups. */
    openBackups: () => load().then((b) => b.view.openBackups()),
    /** Re-renders the dialog (in a new language), if it was built. */
    render() {
      if (!built) return;
      built.view.render();
      built.prompts.render();
    },
  };
}
