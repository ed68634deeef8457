// @ts-check
/**
 * Short notices (the toast, with Undo after a delete; errors of actions) and
 * the banner about a conversation database that cannot be opened.
 */
import * as ipc from './ipc.js';
import { $ } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('../types/ipc').StoreProblem} StoreProblem */
/** @typedef {ReturnType<typeof createNotices>} Notices */

export function createNotices() {
  const box = $('toast');
  const text = $('toast-text');
  const undoBtn = /** @type {HTMLButtonElement} */ ($('toast-undo'));
  const openBtn = /** @type {HTMLButtonElement} */ ($('toast-open'));
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;

  /**
   * Shows a short message, with an Undo button when `undo` is given.
   * @param {string} message
   * @param {() => Promise<void>} [undo]
   */
  function toast(message, undo) {
    text.textContent = message;
    openBtn.hidden = true;
    undoBtn.hidden = !undo;
    undoBtn.onclick = undo
      ? () => {
          box.hidden = true;
          undo().catch(showError);
        }
      : null;
    box.hidden = false;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => (box.hidden = true), undo ? 10_000 : 6_000);
  }

  /** An action failed: say why. @param {any} e */
  function showError(e) {
    toast(String(e?.message ?? e));
  }

  /**
   * Shows where a link really goes, with Open to follow it.
   * @param {string} href
   * @param {() => void} open
   */
  function confirmLink(href, open) {
    toast(t('toast.link', { href }));
    openBtn.hidden = false;
    openBtn.onclick = () => {
      box.hidden = true;
      open();
    };
  }

  return { toast, showError, confirmLink };
}

/**
 * @param {{notices: Notices, refreshList: () => Promise<void>, openBackups: () => void}} deps
 */
export function createStoreBanner({ notices, refreshList, openBackups }) {
  const banner = $('store-banner');
  const backups = $('store-backups');
  backups.addEventListener('click', () => openBackups());

  /** Shows the banner when the check at start finds the database damaged. */
  async function health() {
    const found = await ipc.storeHealth().catch(() => null);
    if (!found) return;
    $('store-banner-text').textContent = t('store.damaged', { problem: found });
    $('store-banner-text').title = $('store-banner-text').textContent ?? '';
    $('store-reset').hidden = true;
    backups.hidden = false;
    banner.hidden = false;
  }

  return {
    /**
     * Shows the banner when the database is unavailable (with a fix when
     * there is one); a sound one is then checked in the background.
     */
    async check() {
      const problem = await ipc.storeProblem().catch(() => /** @type {StoreProblem|null} */ (null));
      banner.hidden = !problem;
      backups.hidden = true;
      if (!problem) {
        health();
        return;
      }
      $('store-banner-text').textContent = `${problem.message} ${t('store.cannot_save')}`;
      $('store-banner-text').title = $('store-banner-text').textContent ?? '';
      const btn = $('store-reset');
      btn.hidden = !problem.can_move_aside;
      btn.onclick = async () => {
        try {
          const aside = await ipc.resetStore();
          banner.hidden = true;
          notices.toast(aside ? t('store.moved', { path: aside }) : t('store.fresh'));
          await refreshList();
        } catch (e) {
          notices.showError(e);
        }
      };
    },
  };
}
