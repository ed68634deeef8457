// @ts-check
/**
 * The tool-call approval dialog: a model asks to run a tool; the dialog
 * shows which tool of which server, with the arguments as text, and offers
 * Deny (focused first, and Esc), Allow always for this tool, and Allow.
 * Calls wait in order, one dialog at a time; a stream that ends (Stop)
 * takes its waiting calls away. The answer goes back with `decide_tool`.
 */
import * as ipc from './ipc.js';
import { $ } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('../types/ipc').PendingCall} PendingCall */
/** @typedef {import('../types/ipc').ToolDecision} ToolDecision */

/**
 * The arguments as shown: pretty JSON when they parse, else as written.
 * @param {string} raw
 */
export function shownArguments(raw) {
  if (!raw.trim()) return '{}';
  try {
    return JSON.stringify(JSON.parse(raw), null, 2);
  } catch {
    return raw;
  }
}

export function createToolApproval() {
  const dialog = /** @type {HTMLDialogElement} */ ($('tool-approval'));
  const what = $('tool-approval-what');
  const args = $('tool-approval-args');
  const deny = /** @type {HTMLButtonElement} */ ($('tool-deny'));
  const always = /** @type {HTMLButtonElement} */ ($('tool-allow-always'));
  const allow = /** @type {HTMLButtonElement} */ ($('tool-allow'));
  /** @type {{streamId: string, call: PendingCall}[]} */
  const queue = [];
  /** @type {Element|null} */
  let returnFocus = null;

  function showNext() {
    const next = queue[0];
    if (!next) {
      if (dialog.open) dialog.close();
      if (returnFocus instanceof HTMLElement && returnFocus.isConnected) returnFocus.focus();
      returnFocus = null;
      return;
    }
    const { call } = next;
    what.textContent = t('tool.approve_what', { tool: call.tool ?? call.name, server: call.server ?? '' });
    args.textContent = shownArguments(call.arguments);
    dialog.setAttribute('data-call-id', call.call_id);
    if (!dialog.open) {
      returnFocus = document.activeElement;
      dialog.showModal();
    }
    deny.focus();
  }

  /** @param {ToolDecision} decision */
  function decide(decision) {
    const head = queue.shift();
    if (head) {
      ipc.decideTool(head.streamId, head.call.call_id, decision).catch(() => {
        // The call is no longer waiting (the answer was stopped): nothing to do.
      });
    }
    showNext();
  }

  deny.addEventListener('click', () => decide('deny'));
  always.addEventListener('click', () => decide('allow_always'));
  allow.addEventListener('click', () => decide('allow'));
  $('tool-approval-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
  });
  // Esc declines here, and goes no further: the window's Esc would stop the answer.
  dialog.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape') return;
    ev.preventDefault();
    ev.stopPropagation();
    decide('deny');
  });
  dialog.addEventListener('cancel', (ev) => {
    ev.preventDefault();
    decide('deny');
  });

  return {
    /**
     * Asks about a call of a stream.
     * @param {string} streamId
     * @param {PendingCall} call
     */
    ask(streamId, call) {
      queue.push({ streamId, call });
      if (queue.length === 1) showNext();
    },
    /**
     * The stream ended: its calls no longer wait.
     * @param {string} streamId
     */
    forget(streamId) {
      const wasShown = queue[0]?.streamId === streamId;
      for (let i = queue.length - 1; i >= 0; i--) {
        if (queue[i].streamId === streamId) queue.splice(i, 1);
      }
      if (wasShown) showNext();
    },
  };
}
