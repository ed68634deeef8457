// @ts-check
/**
 * The chat window's controller: the sidebar of stored conversations, search,
 * the composer, Send / Stop / New chat, streaming into the message list, and
 * the provider and model pickers. All backend calls go through ipc.js.
 */
import * as ipc from './ipc.js';
import { composerKey, formatDate, globalKey, newId, pickProvider, snippetParts } from './format.js';
import { AssistantView, el, userMessage } from './message-view.js';
import { initSettings } from './settings-view.js';
import { PageMetrics } from './page-metrics.js';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const messages = $('messages');
const composer = /** @type {HTMLTextAreaElement} */ ($('composer'));
const systemPrompt = /** @type {HTMLTextAreaElement} */ ($('system-prompt'));
const sendBtn = /** @type {HTMLButtonElement} */ ($('send'));
const cancelBtn = /** @type {HTMLButtonElement} */ ($('cancel'));
const clearBtn = /** @type {HTMLButtonElement} */ ($('clear'));
const providerSelect = /** @type {HTMLSelectElement} */ ($('provider-select'));
const modelInput = /** @type {HTMLInputElement} */ ($('model-select'));
const list = $('conversation-list');
const searchInput = /** @type {HTMLInputElement} */ ($('search'));
const searchResults = $('search-results');

/** Messages loaded per page when a conversation opens or scrolls up. */
const PAGE = 60;
/** Conversations loaded per sidebar page. */
const LIST_PAGE = 50;

/** @type {import('./ipc.js').UiState | null} */
let uiState = null;
/** The current conversation's provider and model. */
const current = { providerId: /** @type {string|null} */ (null), model: '', explicit: false };
/** The open conversation: its id (stored once it has a message). */
let conversationId = newId();
/** Oldest loaded seq of the open conversation, and whether older messages exist. */
const paging = { oldestSeq: /** @type {number|null} */ (null), hasMore: false, loading: false };
/** @type {{streamId: string, view: AssistantView} | null} */
let active = null;
/** @type {AssistantView | null} */
let lastAnswer = null;
/** @type {HTMLElement | null} */
let lastUser = null;
/** The last user message is being edited. */
let editing = false;
/** Sidebar paging; `gen` drops the results of a load that a refresh superseded. */
const sidebar = { cursor: /** @type {import('./ipc.js').Cursor|null} */ (null), done: false, loading: false, gen: 0 };
/** Bumped on every open: a slower earlier open never overwrites a later one. */
let openGen = 0;
/** The open conversation is stored (it has at least one message). */
let stored = false;
/** Pipeline measurement, only with RUNNEL_PAGE_METRICS=1 (the window benchmark). @type {PageMetrics|null} */
let metrics = null;

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

/** @type {import('./message-view.js').Handlers} */
const handlers = {
  onRetry: () => resend({ kind: 'regenerate' }),
  onRegenerate: () => resend({ kind: 'regenerate' }),
  onVersion: (id) => {
    ipc.activateVersion(id).then(() => openConversation(conversationId, null), showError);
  },
  onEdit: (text) => {
    if (active) return;
    editing = true;
    $('editing-banner').hidden = false;
    composer.value = text;
    autosize();
    composer.focus();
  },
};

function showError(/** @type {any} */ e) {
  toast(String(e?.message ?? e));
}

/**
 * Starts streaming an answer for `send`.
 * @param {import('./ipc.js').SendKind} send
 * @param {HTMLElement|null} userNode the user message just shown (gets its stored id)
 */
function startStream(send, userNode) {
  const streamId = newId();
  const view = new AssistantView(streamId, handlers);
  lastAnswer?.dropRetry();
  lastAnswer = view;
  messages.append(view.root);
  scrollToBottom();
  const stream = { streamId, view };
  active = stream;
  setStreaming(true);
  if (uiState?.page_metrics) {
    metrics = new PageMetrics();
    /** @type {any} */ (window).__runnelMetrics = metrics;
    metrics.start();
  }
  const m = metrics;

  /** @type {import('./ipc.js').StreamMessage[]} */
  let queue = [];
  let scheduled = false;
  /** @param {boolean} inFrame called from an animation frame */
  const drain = (inFrame) => {
    scheduled = false;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    // The page's cost of this batch (applying it, and the layout the scroll
    // forces) is measured when metrics are on.
    const t0 = m ? performance.now() : 0;
    const stick = nearBottom();
    // The ops of all messages since the last frame go in one apply, so an
    // open block replaced several times is drawn once.
    /** @type {import('./ipc.js').UiOp[][]} */
    let pending = [];
    /** @type {import('./ipc.js').UiOp[][]} */
    const applied = [];
    const applyPending = () => {
      if (pending.length === 0) return;
      const ops = pending.length === 1 ? pending[0] : pending.flat();
      pending = [];
      view.apply(ops);
      if (m) applied.push(ops);
    };
    const measured = () => {
      if (m && applied.length) m.applied(applied.splice(0).flat(), performance.now() - t0, inFrame);
    };
    for (const msg of batch) {
      if (msg.type === 'ops') {
        pending.push(msg.ops);
      } else {
        applyPending();
        measured();
        view.finish(msg);
        m?.end();
        if (active === stream) {
          active = null;
          setStreaming(false);
          refreshList();
          // A regenerated or edited turn has versions now: show their arrows.
          if (send.kind !== 'new' && convId === conversationId) openConversation(convId, null);
        }
      }
    }
    applyPending();
    if (stick) scrollToBottom();
    measured();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    // One DOM update per animation frame; the timer covers a hidden window,
    // where animation frames may not run.
    requestAnimationFrame(() => drain(true));
    setTimeout(() => drain(false), 100);
  };
  const convId = conversationId;
  ipc
    .sendMessage(
      {
        conversationId: convId, streamId, providerId: current.providerId, model: current.model || null,
        systemPrompt: systemPrompt.value, thinkingBudget: thinkingBudget(), send,
      },
      (msg) => {
        queue.push(msg);
        schedule();
      },
    )
    .then((sent) => {
      if (convId === conversationId) stored = true;
      view.root.setAttribute('data-message-id', sent.answer_id);
      if (userNode) userNode.setAttribute('data-message-id', sent.user_message.id);
      refreshList();
    })
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
  if (editing) {
    editing = false;
    $('editing-banner').hidden = true;
    composer.value = '';
    autosize();
    resend({ kind: 'edit', text });
    return;
  }
  lastUser?.querySelector('[data-testid="edit"]')?.remove();
  const node = userMessage(text, '', { last: true }, handlers);
  lastUser = node;
  messages.append(node);
  composer.value = '';
  autosize();
  startStream({ kind: 'new', text }, node);
}

/**
 * Regenerates the last answer or resends an edited last message; the
 * replaced versions are kept, so the conversation is reloaded afterwards.
 * @param {import('./ipc.js').SendKind} kind
 */
function resend(kind) {
  if (active) return;
  if (kind.kind === 'edit' && lastUser) {
    // The old message and its answer stay as versions; show the new text now.
    let n = /** @type {Element|null} */ (lastUser);
    while (n) {
      const next = n.nextElementSibling;
      n.remove();
      n = next;
    }
    const node = userMessage(kind.text, '', { last: true }, handlers);
    lastUser = node;
    messages.append(node);
    lastAnswer = null;
    startStream(kind, node);
    return;
  }
  lastAnswer?.root.remove();
  lastAnswer = null;
  startStream(kind, null);
}

function cancel() {
  if (!active) return;
  metrics?.cancelled();
  ipc.cancelStream(active.streamId).catch(() => {});
}

/** Shows an empty conversation (stored at its first message). */
function newChat() {
  cancel();
  conversationId = newId();
  active = null;
  lastAnswer = null;
  lastUser = null;
  editing = false;
  $('editing-banner').hidden = true;
  paging.oldestSeq = null;
  paging.hasMore = false;
  openGen++;
  stored = false;
  setStreaming(false);
  messages.replaceChildren();
  systemPrompt.value = '';
  setThinking(null);
  markCurrent();
  // New conversations use the default provider.
  current.explicit = false;
  choose(null, '');
  composer.focus();
}

/** Renders stored messages; `last` ids get the tail actions. */
function renderStored(/** @type {import('./ipc.js').MessageView[]} */ msgs, /** @type {string|null} */ lastUserId, /** @type {string|null} */ lastAnswerId) {
  const frag = document.createDocumentFragment();
  /** @type {AssistantView|null} */
  let answer = null;
  /** @type {HTMLElement|null} */
  let user = null;
  for (const m of msgs) {
    if (m.role === 'user') {
      // Versions are flipped on the last turn only: an older flip would hide the turns after it.
      const tail = m.id === lastUserId;
      const node = userMessage(m.content, m.id, tail ? { version: m.version, versions: m.versions, last: true } : {}, handlers);
      if (m.id === lastUserId) user = node;
      frag.append(node);
    } else {
      const v = AssistantView.fromStored(m.id === lastAnswerId ? m : { ...m, version: [1, 1] }, handlers, m.id === lastAnswerId);
      if (m.id === lastAnswerId) answer = v;
      frag.append(v.root);
    }
  }
  return { frag, answer, user };
}

/**
 * Opens a stored conversation on its newest messages (or, with `focusMessage`,
 * loads pages until that message is there, then scrolls to it and highlights it).
 * @param {string} id
 * @param {string|null} focusMessage
 */
async function openConversation(id, focusMessage) {
  // The stream keeps going in the backend only while its view is on screen.
  if (active) cancel();
  const gen = ++openGen;
  const openedAt = performance.now();
  try {
    let page = await ipc.openConversation(id, null, PAGE);
    let msgs = page.messages;
    while (focusMessage && page.has_more && !msgs.some((m) => m.id === focusMessage)) {
      page = await ipc.openConversation(id, msgs[0]?.seq ?? null, PAGE * 4);
      msgs = [...page.messages, ...msgs];
    }
    if (gen !== openGen) return;
    conversationId = id;
    stored = true;
    active = null;
    setStreaming(false);
    editing = false;
    $('editing-banner').hidden = true;
    paging.oldestSeq = msgs[0]?.seq ?? null;
    paging.hasMore = page.has_more;
    const lastUserId = [...msgs].reverse().find((m) => m.role === 'user')?.id ?? null;
    const lastAnswerMsg = [...msgs].reverse().find((m) => m.role === 'assistant');
    const lastAnswerId = msgs.length && msgs[msgs.length - 1].role === 'assistant' ? lastAnswerMsg?.id ?? null : null;
    const { frag, answer, user } = renderStored(msgs, lastUserId, lastAnswerId);
    messages.replaceChildren(frag);
    lastAnswer = answer;
    lastUser = user;
    systemPrompt.value = page.conversation.system_prompt;
    setThinking(page.conversation.thinking_budget);
    current.explicit = true;
    choose(page.conversation.provider, page.conversation.model ?? '');
    markCurrent();
    if (uiState?.page_metrics) {
      // Click to first paint of the conversation (the window benchmark reads it).
      requestAnimationFrame(() => {
        /** @type {any} */ (window).__runnelLastOpenMs = performance.now() - openedAt;
      });
    }
    if (focusMessage) {
      const target = messages.querySelector(`[data-message-id="${CSS.escape(focusMessage)}"]`);
      if (target) {
        target.classList.add('highlight');
        target.setAttribute('data-highlighted', 'true');
        target.scrollIntoView({ block: 'center' });
      }
    } else {
      scrollToBottom();
    }
  } catch (e) {
    showError(e);
  }
}

/** Loads the previous page when the list is scrolled to the top. */
async function loadOlder() {
  if (paging.loading || !paging.hasMore || paging.oldestSeq === null) return;
  paging.loading = true;
  const id = conversationId;
  try {
    const gen = openGen;
    const page = await ipc.openConversation(id, paging.oldestSeq, PAGE);
    if (id !== conversationId || gen !== openGen) return;
    const before = messages.scrollHeight;
    const { frag } = renderStored(page.messages, null, null);
    messages.prepend(frag);
    // Keep what the user was reading in place.
    messages.scrollTop += messages.scrollHeight - before;
    paging.oldestSeq = page.messages[0]?.seq ?? paging.oldestSeq;
    paging.hasMore = page.has_more;
  } catch (e) {
    showError(e);
  } finally {
    paging.loading = false;
  }
}

messages.addEventListener('scroll', () => {
  if (messages.scrollTop < 200) loadOlder();
});

/** The thinking budget to send: Anthropic providers with the toggle on only. */
function thinkingBudget() {
  const on = /** @type {HTMLInputElement} */ ($('thinking-toggle')).checked;
  if (!on || currentProvider()?.kind !== 'anthropic') return null;
  const n = Number(/** @type {HTMLInputElement} */ ($('thinking-budget')).value);
  return Number.isFinite(n) && n >= 1024 ? Math.round(n) : 1024;
}

/** @param {number|null|undefined} budget */
function setThinking(budget) {
  /** @type {HTMLInputElement} */ ($('thinking-toggle')).checked = budget != null;
  if (budget != null) /** @type {HTMLInputElement} */ ($('thinking-budget')).value = String(budget);
}

// ---- Sidebar -------------------------------------------------------------

function markCurrent() {
  for (const item of list.querySelectorAll('[data-testid="conversation-item"]')) {
    item.setAttribute('aria-current', String(item.getAttribute('data-conversation-id') === conversationId));
  }
}

/** @param {import('./ipc.js').ConversationSummary} c */
function conversationItem(c) {
  const item = el('div', {
    class: 'conversation-item', 'data-testid': 'conversation-item', 'data-conversation-id': c.id,
    'aria-current': String(c.id === conversationId), tabindex: '0', role: 'button',
  });
  const text = el('div', { class: 'text' });
  const title = el('div', { class: 'title', 'data-testid': 'conversation-title' }, c.title || 'New chat');
  if (c.pinned) title.prepend(el('span', { class: 'pin', 'data-testid': 'pinned' }, '📌 '));
  text.append(title, el('div', { class: 'date' }, formatDate(c.updated, Date.now())));
  const acts = el('div', { class: 'item-actions' });
  const mk = (/** @type {string} */ testid, /** @type {string} */ label, /** @type {string} */ tip, /** @type {() => void} */ f) => {
    const b = el('button', { type: 'button', 'data-testid': testid, title: tip }, label);
    b.addEventListener('click', (ev) => {
      ev.stopPropagation();
      f();
    });
    acts.append(b);
  };
  mk('conversation-rename', '✎', 'Rename', () => {
    const t = prompt('Rename conversation', c.title);
    if (t && t.trim()) ipc.renameConversation(c.id, t).then(refreshList, showError);
  });
  mk('conversation-pin', c.pinned ? '⊘' : '📌', c.pinned ? 'Unpin' : 'Pin on top', () => {
    ipc.pinConversation(c.id, !c.pinned).then(refreshList, showError);
  });
  mk('conversation-delete', '🗑', 'Delete', () => deleteConversation(c.id, c.title));
  item.append(text, acts);
  item.addEventListener('click', () => openConversation(c.id, null));
  item.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') openConversation(c.id, null);
  });
  return item;
}

/** Reloads the sidebar's first page. */
async function refreshList() {
  sidebar.gen++;
  sidebar.cursor = null;
  sidebar.done = false;
  sidebar.loading = false;
  await loadMoreConversations();
}

async function loadMoreConversations() {
  if (sidebar.loading || sidebar.done) return;
  sidebar.loading = true;
  const gen = sidebar.gen;
  const first = sidebar.cursor === null;
  try {
    const page = await ipc.listConversations(sidebar.cursor, LIST_PAGE);
    if (gen !== sidebar.gen) return;
    // The first page replaces the list in one step (no flash, no mixed pages).
    if (first) list.replaceChildren();
    for (const c of page) list.append(conversationItem(c));
    const last = page[page.length - 1];
    if (last) sidebar.cursor = { pinned: last.pinned, updated: last.updated, id: last.id };
    sidebar.done = page.length < LIST_PAGE;
  } catch (e) {
    sidebar.done = true;
  } finally {
    if (gen === sidebar.gen) sidebar.loading = false;
  }
}

list.addEventListener('scroll', () => {
  if (list.scrollTop + list.clientHeight > list.scrollHeight - 200) loadMoreConversations();
});

/**
 * Deletes after a confirm; Undo brings it back for a few seconds.
 * @param {string} id
 * @param {string} title
 */
async function deleteConversation(id, title) {
  if (!confirm(`Delete “${title || 'this chat'}”?`)) return;
  try {
    const token = await ipc.deleteConversation(id);
    if (id === conversationId) newChat();
    await refreshList();
    toast(`Deleted “${title || 'chat'}”.`, async () => {
      const restored = await ipc.undoDelete(token);
      await refreshList();
      openConversation(restored, null);
    });
  } catch (e) {
    showError(e);
  }
}

/** @type {ReturnType<typeof setTimeout> | null} */
let toastTimer = null;
/**
 * Shows a short message, with an Undo button when `undo` is given.
 * @param {string} text
 * @param {() => Promise<void>} [undo]
 */
function toast(text, undo) {
  const box = $('toast');
  $('toast-text').textContent = text;
  const btn = /** @type {HTMLButtonElement} */ ($('toast-undo'));
  btn.hidden = !undo;
  btn.onclick = undo
    ? () => {
        box.hidden = true;
        undo().catch(showError);
      }
    : null;
  box.hidden = false;
  if (toastTimer) clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (box.hidden = true), undo ? 10_000 : 6_000);
}

// ---- Search ----------------------------------------------------------------

/** @type {ReturnType<typeof setTimeout> | null} */
let searchTimer = null;
searchInput.addEventListener('input', () => {
  if (searchTimer) clearTimeout(searchTimer);
  searchTimer = setTimeout(runSearch, 120);
});
searchInput.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape') {
    searchInput.value = '';
    runSearch();
  } else if (ev.key === 'Enter') {
    /** @type {HTMLElement|null} */ (searchResults.querySelector('[data-testid="search-result"]'))?.click();
  }
});

async function runSearch() {
  const q = searchInput.value.trim();
  if (!q) {
    searchResults.hidden = true;
    list.hidden = false;
    return;
  }
  try {
    const hits = await ipc.searchConversations(q);
    if (searchInput.value.trim() !== q) return;
    searchResults.replaceChildren();
    if (hits.length === 0) searchResults.append(el('div', { class: 'hint', 'data-testid': 'search-empty' }, 'No matches'));
    for (const h of hits) {
      const row = el('div', {
        class: 'search-result', 'data-testid': 'search-result', 'data-conversation-id': h.id,
        'data-message-id': h.message_id ?? '', tabindex: '0', role: 'button',
      });
      const snippet = el('div', { class: 'snippet' });
      for (const part of snippetParts(h.snippet)) snippet.append(part.mark ? el('mark', {}, part.text) : part.text);
      row.append(el('div', { class: 'title' }, h.title || 'Chat'), snippet);
      row.addEventListener('click', () => openConversation(h.id, h.message_id));
      searchResults.append(row);
    }
    searchResults.hidden = false;
    list.hidden = true;
  } catch (e) {
    showError(e);
  }
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
  $('thinking-box').hidden = p?.kind !== 'anthropic';
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
  } else if (action === 'search') {
    ev.preventDefault();
    searchInput.focus();
    searchInput.select();
  } else if (action === 'delete_chat') {
    ev.preventDefault();
    const item = list.querySelector(`[data-conversation-id="${CSS.escape(conversationId)}"]`);
    if (stored) deleteConversation(conversationId, item?.querySelector('.title')?.textContent ?? '');
  }
});
sendBtn.addEventListener('click', send);
cancelBtn.addEventListener('click', cancel);
clearBtn.addEventListener('click', newChat);
$('edit-cancel').addEventListener('click', () => {
  editing = false;
  $('editing-banner').hidden = true;
  composer.value = '';
});

for (const format of /** @type {const} */ (['md', 'json'])) {
  $(`export-${format}`).addEventListener('click', async () => {
    if (!stored) {
      toast('Nothing to export yet: send a message first.');
      return;
    }
    try {
      const path = await ipc.exportConversation(conversationId, format);
      if (path) toast(`Exported to ${path}`);
    } catch (e) {
      showError(e);
    }
  });
}
$('import').addEventListener('click', async () => {
  try {
    const id = await ipc.importConversation();
    if (id) {
      await refreshList();
      openConversation(id, null);
    }
  } catch (e) {
    showError(e);
  }
});

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

async function showStoreProblem() {
  const problem = await ipc.storeProblem().catch(() => null);
  const banner = $('store-banner');
  banner.hidden = !problem;
  if (!problem) return;
  $('store-banner-text').textContent = `${problem.message} Conversations cannot be saved until this is fixed.`;
  const btn = $('store-reset');
  btn.hidden = !problem.can_move_aside;
  btn.onclick = async () => {
    try {
      const aside = await ipc.resetStore();
      banner.hidden = true;
      toast(aside ? `The old database was moved to ${aside}.` : 'Started a fresh database.');
      await refreshList();
    } catch (e) {
      showError(e);
    }
  };
}

async function init() {
  setStreaming(false);
  composer.focus();
  // The sidebar does not wait for the provider state (which asks the keychain
  // about every provider): list it at once.
  const sidebarShown = refreshList().then(() => {
    // When the sidebar is on screen (the window benchmark reads it).
    requestAnimationFrame(() => {
      document.body.dataset.paintedAt = String(Date.now());
    });
  });
  try {
    await refreshState();
  } catch {
    // The banner says what went wrong.
  }
  await showStoreProblem();
  await sidebarShown;
  // Never steal focus from a field the user is already typing in.
  if (document.activeElement === document.body || document.activeElement === null) composer.focus();
  // Start-up is done (state, sidebar): automation waits for this.
  document.body.dataset.ready = 'true';
}

init();
