// @ts-check
/**
 * Files for the next message: picked with the paperclip (a file dialog),
 * dropped on the window, or pasted into the composer. The backend reads and
 * prepares each one (images oriented, stripped and downscaled; PDFs read)
 * and keeps it until the message is sent or the chip removed; the page only
 * ever holds names, kinds and sizes. A file that cannot go is said in a
 * toast, with why, and the others stay.
 */
import * as ipc from './ipc.js';
import { $, el, icon, iconButton } from './dom.js';
import { formatBytes } from './format.js';
import { t } from './i18n.js';

/** @typedef {import('../types/ipc').AttachmentView} AttachmentView */
/** @typedef {import('../types/ipc').Attached} Attached */
/** @typedef {import('./banners.js').Notices} Notices */

/**
 * The icon of a file's kind.
 * @param {AttachmentView['kind']} kind
 * @returns {import('./dom.js').IconName}
 */
function kindIcon(kind) {
  return kind === 'image' ? 'image' : kind === 'pdf' ? 'file-text' : 'file';
}

/**
 * One file as a chip: its kind, name and size, with Remove when given. An
 * image shows its thumbnail (made by the backend) in place of the icon once
 * it is there; the icon stays when it cannot be made.
 * @param {AttachmentView} f
 * @param {string} testid
 * @param {(() => void)|null} onRemove
 */
export function attachmentChip(f, testid, onRemove) {
  const kind = icon(kindIcon(f.kind), 'small');
  const chip = el('span', { class: 'chip', 'data-testid': testid, 'data-kind': f.kind, title: f.name }, [
    kind,
    el('span', { class: 'chip-name' }, f.name),
    el('span', { class: 'chip-size' }, formatBytes(f.size)),
  ]);
  if (f.kind === 'image') {
    ipc.attachmentThumbnail(f.id).then((url) => {
      const img = /** @type {HTMLImageElement} */ (el('img', { class: 'chip-thumb', alt: '', 'data-testid': 'attachment-thumb' }));
      img.src = url;
      kind.replaceWith(img);
      chip.classList.add('with-thumb');
    }, () => {});
  }
  if (onRemove) {
    const rm = iconButton('x', t('attach.remove', { name: f.name }), { class: 'icon-btn chip-remove', 'data-testid': 'attachment-remove' });
    rm.addEventListener('click', onRemove);
    chip.append(rm);
  }
  return chip;
}

/**
 * @param {{notices: Notices, composer: HTMLTextAreaElement}} deps
 */
export function createAttachments({ notices, composer }) {
  const box = $('attachments');
  /** @type {AttachmentView[]} */
  let files = [];

  const render = () => {
    box.replaceChildren(...files.map((f) => attachmentChip(f, 'attachment-chip', () => remove(f.id))));
    box.hidden = files.length === 0;
  };
  /** @param {string} id */
  const remove = (id) => {
    files = files.filter((f) => f.id !== id);
    render();
    ipc.unstageAttachment(id).catch(() => {});
    composer.focus();
  };
  /** @param {Attached} r */
  const added = (r) => {
    files = files.concat(r.files);
    render();
    if (r.refused.length) notices.toast(r.refused.join(' · '));
  };

  /** Drops every waiting file (the backend forgets them too). */
  const discard = () => {
    for (const f of files) ipc.unstageAttachment(f.id).catch(() => {});
    files = [];
    render();
  };

  $('attach').addEventListener('click', () => {
    ipc.attachFiles().then(added, notices.showError);
  });

  /** @param {File[]} list */
  const fromFiles = async (list) => {
    for (const f of list) {
      try {
        const bytes = new Uint8Array(await f.arrayBuffer());
        added(await ipc.attachBytes(f.name || t('attach.pasted_name'), bytes));
      } catch (e) {
        notices.showError(e);
      }
    }
  };

  composer.addEventListener('paste', (e) => {
    const list = [...(e.clipboardData?.files ?? [])];
    if (list.length === 0) return;
    e.preventDefault();
    fromFiles(list);
  });
  const carriesFiles = (/** @type {DragEvent} */ e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
  document.addEventListener('dragover', (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    document.body.classList.add('dropping');
  });
  document.addEventListener('dragleave', (e) => {
    if (e.relatedTarget === null) document.body.classList.remove('dropping');
  });
  document.addEventListener('drop', (e) => {
    document.body.classList.remove('dropping');
    if (!carriesFiles(e)) return;
    e.preventDefault();
    fromFiles([...(e.dataTransfer?.files ?? [])]);
  });

  return {
    /** The staged files' ids, in order. */
    ids: () => files.map((f) => f.id),
    /** The staged files as shown. */
    views: () => files.slice(),
    /** After a send: the backend took them. */
    clear: () => {
      files = [];
      render();
    },
    discard,
    /**
     * Waits with a sent message's files (for its edit), in place of any
     * waiting now.
     * @param {string} messageId
     */
    stageFrom: (messageId) => {
      discard();
      ipc.stageMessageFiles(messageId).then(added, notices.showError);
    },
  };
}
