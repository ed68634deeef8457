// @ts-check
/**
 * Settings, "Backups": the copies of the conversation database (the daily
 * ones the app makes, the user's own, and those made before an upgrade or a
 * restore), newest first, each with a Restore button behind a confirmation;
 * and "Back up now". Loaded with the settings dialog.
 */
import * as ipc from './ipc.js';
import { formatBytes, formatError } from './format.js';
import { $, el } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('../types/ipc').BackupInfo} BackupInfo */

/** The catalog key of each reason. */
const REASON_KEYS = /** @type {const} */ ({
  daily: 'backup.reason_daily',
  manual: 'backup.reason_manual',
  migration: 'backup.reason_migration',
  restore: 'backup.reason_restore',
});

/**
 * @param {{dialogs: import('./dialogs.js').Dialogs, onRestored: () => void}} host
 */
export function createBackupSettings(host) {
  const list = $('backup-list');
  const result = $('backup-result');
  const error = $('backup-error');
  const create = /** @type {HTMLButtonElement} */ ($('backup-create'));
  /** @type {BackupInfo[]|null} the last listing, drawn again after a language switch */
  let last = null;

  async function load() {
    try {
      last = await ipc.listBackups();
      draw(last);
    } catch (e) {
      error.textContent = formatError(/** @type {any} */ (e));
    }
  }

  /** @param {number} ms */
  const when = (ms) => new Date(ms).toLocaleString();

  /** @param {BackupInfo[]} backups */
  function draw(backups) {
    if (backups.length === 0) {
      list.replaceChildren(el('p', { class: 'hint', 'data-testid': 'backup-empty' }, t('backup.none')));
      return;
    }
    list.replaceChildren(...backups.map((b) => {
      const restore = el('button', { type: 'button', 'data-testid': 'backup-restore' }, t('backup.restore'));
      restore.addEventListener('click', () => restoreOne(b, restore));
      return el('div', { class: 'provider-row', 'data-testid': 'backup-row', 'data-backup-id': b.id, 'data-reason': b.reason }, [
        el('div', { class: 'title' }, when(b.created)),
        el('div', { class: 'actions' }, restore),
        el('div', { class: 'meta' }, `${t(REASON_KEYS[b.reason])} · ${formatBytes(b.size)}`),
      ]);
    }));
  }

  /** @param {BackupInfo} b @param {HTMLButtonElement} button */
  async function restoreOne(b, button) {
    const sure = await host.dialogs.confirm({
      title: t('backup.restore_confirm', { date: when(b.created) }),
      message: t('backup.restore_explain'),
      ok: t('backup.restore'),
      danger: true,
    });
    if (!sure) return;
    error.textContent = '';
    result.textContent = '';
    button.disabled = true;
    try {
      const before = await ipc.restoreBackup(b.id);
      result.textContent = t('backup.restored', { date: when(b.created), kept: when(before.created) });
      host.onRestored();
    } catch (e) {
      error.textContent = formatError(/** @type {any} */ (e));
    } finally {
      button.disabled = false;
    }
    await load();
  }

  create.addEventListener('click', async () => {
    error.textContent = '';
    result.textContent = '';
    create.disabled = true;
    try {
      const b = await ipc.createBackup();
      result.textContent = t('backup.made', { size: formatBytes(b.size) });
    } catch (e) {
      error.textContent = formatError(/** @type {any} */ (e));
    } finally {
      create.disabled = false;
    }
    await load();
  });

  return {
    /** Lists the backups again (`fresh`), or redraws the last listing in a new language. */
    render(/** @type {boolean} */ fresh) {
      if (fresh) load();
      else if (last) draw(last);
    },
  };
}
