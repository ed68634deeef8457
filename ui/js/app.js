// @ts-check
/**
 * The chat window's controller: composer, Send / Stop / New chat, streaming
 * into the message list. All backend calls go through ipc.js.
 */
import * as ipc from './ipc.js';
import { composerKey, globalKey, newId, pickProvider } from './format.js';
import { AssistantView, el, userMessage } from './message-view.js';
import { initSettings } from './settings-view.js';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const messages = $('messages');
const composer = /** @type {HTMLTextAreaElement} */ ($('composer'));
const systemPrompt = /** @type {HTMLTextAreaElement} */ ($('system-prompt'));
const sendBtn = /** @type {HTMLButtonElement} */ ($('send'));
const cancelBtn = /** @type {HTMLButtonElement} */ ($('cancel'));
const clearBtn = /** @type {HTMLButtonElement} */ ($('clear'));
const providerSelect = /** @type {HTMLSelectElement} */ ($('provider-select'));
const modelInput = /** @type {HTMLInputElement} */ ($('model-select'));

/** @type {import('./ipc.js').UiState | null} */
let uiState = null;
/** The current conversation's provider and model. */
const current = { providerId: /** @type {string|null} */ (null), model: '', explicit: false };

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
      {
        conversationId, streamId, providerId: current.providerId, model: current.model || null,
        systemPrompt: systemPrompt.value, text,
      },
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
  messages.append(userMessage(text, newId()));
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
  // New conversations use the default provider.
  current.explicit = false;
  choose(null, '');
  composer.focus();
}

/** The current conversation's provider view. */
function currentProvider() {
  return uiState?.providers.find((p) => p.id === current.providerId) ?? null;
}

/**
 * Sets the conversation's provider (null: the default) and model ('' : its default).
 * @param {string|null} providerId
 * @param {string} model
 */
function choose(providerId, model) {
  if (!uiState) return;
  const p = pickProvider(uiState.providers, uiState.default_provider, providerId);
  current.providerId = p?.id ?? null;
  current.model = model || p?.default_model || '';
  renderPickers();
  if (p) loadModels(p.id, false);
}

function renderPickers() {
  const st = uiState;
  if (!st) return;
  providerSelect.replaceChildren(
    ...st.providers.map((p) => {
      const o = el('option', { value: p.id }, p.usable ? p.name : `${p.name} (needs a key)`);
      return o;
    }),
  );
  providerSelect.value = current.providerId ?? '';
  modelInput.value = current.model;
  const p = currentProvider();
  $('provider-base').textContent = p ? p.base_url : 'no provider';
  $('provider-model').textContent = current.model;
  const banner = $('setup-banner');
  const problem = p && !p.usable ? p.problem : null;
  banner.hidden = !problem;
  banner.textContent = problem ?? '';
}

/** Fills the model picker from the provider's /models (cached unless refresh). */
async function loadModels(/** @type {string} */ providerId, /** @type {boolean} */ refresh) {
  const list = $('model-options');
  const p = uiState?.providers.find((x) => x.id === providerId);
  if (!p || (!p.usable && !refresh)) {
    list.replaceChildren();
    return;
  }
  try {
    const models = await ipc.listModels(providerId, refresh);
    if (current.providerId !== providerId) return;
    list.replaceChildren(...models.map((m) => el('option', { value: m })));
    modelInput.title = `${models.length} models from ${p.base_url}/models; any id can be typed`;
  } catch (e) {
    list.replaceChildren();
    modelInput.title = `Could not list models: ${/** @type {Error} */ (e).message}. Type a model id.`;
  }
}

async function refreshState() {
  try {
    uiState = await ipc.getState();
  } catch (e) {
    const banner = $('setup-banner');
    banner.textContent = String(/** @type {Error} */ (e).message ?? e);
    banner.hidden = false;
    throw e;
  }
  if (!uiState.providers.some((p) => p.id === current.providerId)) {
    current.providerId = null;
    current.explicit = false;
  }
  // An empty conversation whose provider the user did not pick follows the default.
  const empty = !messages.querySelector('[data-testid="message"]');
  if (current.providerId === null || (!current.explicit && empty)) {
    const before = current.providerId;
    const next = pickProvider(uiState.providers, uiState.default_provider, null);
    // A model typed for this provider survives a refresh; a new provider brings its own.
    choose(null, next && next.id === before ? current.model : '');
  } else renderPickers();
  settings.render();
  return uiState;
}

const settings = initSettings({
  refresh: refreshState,
  state: () => uiState,
  onProviderChosen: (id) => {
    current.explicit = false;
    choose(id, '');
  },
});

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

providerSelect.addEventListener('change', () => {
  current.explicit = true;
  choose(providerSelect.value, '');
});
modelInput.addEventListener('input', () => {
  current.model = modelInput.value.trim();
  $('provider-model').textContent = current.model;
});
$('models-refresh').addEventListener('click', () => {
  if (current.providerId) loadModels(current.providerId, true);
});

async function init() {
  setStreaming(false);
  try {
    await refreshState();
  } catch {
    // The banner says what went wrong.
  }
  composer.focus();
}

init();
