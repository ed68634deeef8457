// @ts-check
/**
 * The chat window's controller: composer, Send / Stop / New chat, streaming
 * into the message list. All backend calls go through ipc.js.
 */
import * as ipc from './ipc.js';
import { composerKey, globalKey, newId } from './format.js';
import { AssistantView, userMessage } from './message-view.js';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const messages = $('messages');
const composer = /** @type {HTMLTextAreaElement} */ ($('composer'));
const systemPrompt = /** @type {HTMLTextAreaElement} */ ($('system-prompt'));
const sendBtn = /** @type {HTMLButtonElement} */ ($('send'));
const cancelBtn = /** @type {HTMLButtonElement} */ ($('cancel'));
const clearBtn = /** @type {HTMLButtonElement} */ ($('clear'));

let conversationId = newId();
/** @type {{streamId: string, view: AssistantView} | null} */
let active = null;
/** @type {AssistantView | null} */
let lastAnswer = null;

function setStreaming(/** @type {boolean} */ on) {
  sendBtn.disabled = on;
  cancelBtn.disabled = !on;
}

function nearBottom() {
  return messages.scrollHeight - messages.scrollTop - messages.clientHeight < 48;
}

function scrollToBottom() {
  messages.scrollTop = messages.scrollHeight;
}

function hideEmptyHint() {
  document.getElementById('empty-hint')?.remove();
}

/**
 * Starts streaming an answer. `text` null answers the last user message again.
 * @param {string|null} text
 */
function startStream(text) {
  const streamId = newId();
  const view = new AssistantView(streamId, { onRetry: retry });
  lastAnswer?.dropRetry();
  lastAnswer = view;
  messages.append(view.root);
  scrollToBottom();
  const stream = { streamId, view };
  active = stream;
  setStreaming(true);

  /** @type {import('./ipc.js').StreamMessage[]} */
  let queue = [];
  let scheduled = false;
  const drain = () => {
    scheduled = false;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    const stick = nearBottom();
    for (const msg of batch) {
      if (msg.type === 'ops') {
        view.apply(msg.ops);
      } else {
        view.finish(msg);
        if (active === stream) {
          active = null;
          setStreaming(false);
        }
      }
    }
    if (stick) scrollToBottom();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    // One DOM update per animation frame; the timer covers a hidden window,
    // where animation frames may not run.
    requestAnimationFrame(drain);
    setTimeout(drain, 100);
  };
  ipc
    .sendMessage(
      { conversationId, streamId, systemPrompt: systemPrompt.value, text },
      (msg) => {
        queue.push(msg);
        schedule();
      },
    )
    .catch((/** @type {any} */ err) => {
      view.finish({
        status: 'error', error: { kind: err.kind ?? 'internal', message: err.message }, finish_reason: null,
        metrics: { ttft_ms: null, total_ms: 0, chunks: 0, tokens_per_s: null },
        usage: { input_tokens: 0, output_tokens: 0 }, usage_estimated: true, tool_calls: [], text: '',
      });
      if (active === stream) {
        active = null;
        setStreaming(false);
      }
    });
}

function send() {
  const text = composer.value;
  if (!text.trim() || active) return;
  hideEmptyHint();
  messages.append(userMessage(text));
  composer.value = '';
  autosize();
  startStream(text);
}

function retry() {
  if (active || !lastAnswer) return;
  lastAnswer.root.remove();
  lastAnswer = null;
  startStream(null);
}

function cancel() {
  if (active) ipc.cancelStream(active.streamId).catch(() => {});
}

function newChat() {
  cancel();
  const old = conversationId;
  conversationId = newId();
  active = null;
  lastAnswer = null;
  setStreaming(false);
  messages.replaceChildren();
  ipc.forgetConversation(old).catch(() => {});
  composer.focus();
}

function autosize() {
  composer.style.height = 'auto';
  composer.style.height = `${Math.min(composer.scrollHeight + 2, window.innerHeight * 0.4)}px`;
}

composer.addEventListener('keydown', (ev) => {
  const action = composerKey(ev);
  if (action === 'send') {
    ev.preventDefault();
    send();
  }
});
composer.addEventListener('input', autosize);
document.addEventListener('keydown', (ev) => {
  const action = globalKey(ev);
  if (action === 'cancel' && active) {
    ev.preventDefault();
    cancel();
  } else if (action === 'new_chat') {
    ev.preventDefault();
    newChat();
  }
});
sendBtn.addEventListener('click', send);
cancelBtn.addEventListener('click', cancel);
clearBtn.addEventListener('click', newChat);

// Links in answers open in the system browser, never in this window.
messages.addEventListener('click', (ev) => {
  const target = /** @type {Element} */ (ev.target);
  const link = target.closest?.('a[href]');
  if (!link) return;
  ev.preventDefault();
  const href = link.getAttribute('href') ?? '';
  ipc.openExternal(href).catch((/** @type {Error} */ e) => console.warn(e.message));
});

async function init() {
  setStreaming(false);
  try {
    const info = await ipc.appInfo();
    $('provider-base').textContent = info.base_url;
    $('provider-model').textContent = info.model;
    const banner = $('setup-banner');
    if (info.setup_problem) {
      banner.textContent = info.setup_problem;
      banner.hidden = false;
    }
  } catch (e) {
    const banner = $('setup-banner');
    banner.textContent = String(/** @type {Error} */ (e).message ?? e);
    banner.hidden = false;
  }
  composer.focus();
}

init();
