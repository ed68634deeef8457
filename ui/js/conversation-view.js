// @ts-check
/**
 * The open conversation: its message list (paged from the store as it is
 * scrolled up), Send / Stop / New chat, the system prompt, a stream from its
 * start to its end (its apply loop is answer-stream.js), Retry, and the
 * branches: Regenerate on any answer and Edit on any question start one,
 * the arrows at a fork switch between them (what is shown is what the next
 * send carries), and links in answers (to the system browser).
 */
import * as ipc from './ipc.js';
import { addCost, newId } from './format.js';
import { $, el, scrollToBottom } from './dom.js';
import { t } from './i18n.js';
import { AssistantView, noLongerLast, userMessage } from './message-view.js';
import { applyLoop, frameClock } from './answer-stream.js';
import { hidesItsTarget } from './links.js';
import { openInspect } from './inspect.js';

/** @typedef {import('../types/ipc').MessageView} MessageView */
/** @typedef {import('../types/ipc').SendKind} SendKind */
/** @typedef {import('../types/ipc').ErrorInfo} ErrorInfo */
/** @typedef {import('../types/ipc').StreamEnd} StreamEnd */
/** @typedef {import('./state.js').AppState} AppState */
/** @typedef {import('./state.js').ActiveStream} ActiveStream */
/** @typedef {import('./composer.js').Composer} Composer */
/** @typedef {import('./pickers.js').Pickers} Pickers */
/** @typedef {import('./banners.js').Notices} Notices */
/** @typedef {import('./answer-stream.js').StreamProbe} StreamProbe */
/** @typedef {ReturnType<typeof createConversationView>} ConversationView */

/** Messages loaded per page when a conversation opens or scrolls up. */
const PAGE = 60;

/**
 * Measurement hooks (page-metrics.js installs them with RUNNEL_PAGE_METRICS=1).
 * @typedef {object} Instrumentation
 * @property {() => StreamProbe} streamStarted a stream starts: the probe of its apply loop
 * @property {(n: number) => StreamProbe[]} compareStarted Compare's `n` streams start: one probe per column
 * @property {() => void} streamCancelled Stop was pressed on the running stream
 * @property {(openedAt: number) => void} opened a stored conversation is rendered; its open started at `openedAt` (performance.now())
 */

/**
 * @param {{state: AppState, composer: Composer, pickers: Pickers, notices: Notices,
 *   attachments: ReturnType<typeof import('./attachments.js').createAttachments>,
 *   toolApproval: ReturnType<typeof import('./tool-approval.js').createToolApproval>,
 *   refreshList: () => Promise<void>}} deps
 */
export function createConversationView({ state, composer, pickers, notices, attachments, toolApproval, refreshList }) {
  const messages = $('messages');
  /** Every stream of the list is drawn in one frame (Compare's columns too). */
  const clock = frameClock(messages);
  const systemBox = /** @type {HTMLDetailsElement} */ ($('system-box'));
  const systemPrompt = /** @type {HTMLTextAreaElement} */ ($('system-prompt'));
  const sendBtn = /** @type {HTMLButtonElement} */ ($('send'));
  const cancelBtn = /** @type {HTMLButtonElement} */ ($('cancel'));
  /** The last user message and the last answer on screen (they carry the tail actions). */
  const tail = { user: /** @type {HTMLElement|null} */ (null), answer: /** @type {AssistantView|null} */ (null) };
  /** @type {Instrumentation|null} */
  let instruments = null;
  /** The stored id of the question being edited (null: the last one). @type {string|null} */
  let editTarget = null;
  /** Edit mode as last seen: its files are dropped when it ends unsent. */
  let editing = false;
  state.on('editing', (on) => {
    if (!on) {
      editTarget = null;
      if (editing) attachments.discard();
    }
    editing = on;
  });

  /** @type {import('./message-view.js').Handlers} */
  const handlers = {
    onRetry: () => resend({ kind: 'regenerate', of: null }),
    onRegenerate: (id) => resend({ kind: 'regenerate', of: id }),
    // The branch is shown from its fork down, the fork kept in view.
    onVersion: (id) => open(state.data.conversation.id, id),
    onEdit: (text, id) => {
      if (state.data.active) return;
      composer.edit(text);
      editTarget = id;
      // The edit starts with the message's files; each can be removed.
      const from = id ?? tail.user?.getAttribute('data-message-id');
      if (from) attachments.stageFrom(from);
      else attachments.discard();
    },
    onInspect: (id) => openInspect(id, notices),
    onToolAsk: (view, call) => {
      if (view.streamId) toolApproval.ask(view.streamId, call);
    },
  };
  /** Tools switched off for a conversation not stored yet (sent with its first message). @type {string[]|null} */
  let pendingToolsOff = null;

  /** @param {ActiveStream|null} active */
  const renderStreaming = (active) => {
    // Send and Stop share one place: one is shown at a time.
    const hadFocus = document.activeElement === sendBtn || document.activeElement === cancelBtn;
    sendBtn.disabled = !!active;
    cancelBtn.disabled = !active;
    sendBtn.hidden = !!active;
    cancelBtn.hidden = !active;
    if (hadFocus) (active ? cancelBtn : sendBtn).focus();
  };
  state.on('active', renderStreaming);
  renderStreaming(state.data.active);

  /** The running stream is over for this view; false if another replaced it. @param {ActiveStream} stream */
  function release(stream) {
    if (state.data.active !== stream) return false;
    state.set('active', null);
    return true;
  }

  /**
   * Starts streaming an answer for `send`.
   * @param {SendKind} send
   * @param {HTMLElement|null} userNode the user message just shown (gets its stored id)
   * @param {string[]} [files] staged attachments going with it
   */
  function startStream(send, userNode, files = []) {
    const streamId = newId();
    const view = new AssistantView(streamId, handlers);
    view.streamId = streamId;
    tail.answer?.dropRetry();
    tail.answer = view;
    messages.append(view.root);
    scrollToBottom(messages);
    /** @type {ActiveStream} */
    const stream = { streamId };
    state.set('active', stream);
    const probe = instruments ? instruments.streamStarted() : null;
    const convId = state.data.conversation.id;
    const onMessage = applyLoop(view, clock, probe, (/** @type {StreamEnd} */ end) => {
      toolApproval.forget(streamId);
      announce(view.root);
      if (end.cost && convId === state.data.conversation.id) {
        state.update('conversation', { cost: addCost(state.data.conversation.cost, end.cost) });
      }
      if (!release(stream)) return;
      refreshList();
      // A regenerated or edited turn is a fork now: show its arrows.
      if (send.kind !== 'new' && convId === state.data.conversation.id) open(convId, null);
    });
    const { providerId, model } = state.data.choice;
    ipc
      .sendMessage(
        {
          conversationId: convId, streamId, providerId, model: model || null,
          systemPrompt: systemPrompt.value, thinkingBudget: pickers.thinkingBudget(),
          sampling: pickers.sampling(), send, attachments: files, toolsOff: pendingToolsOff,
        },
        onMessage,
      )
      .then((sent) => {
        pendingToolsOff = null;
        if (convId === state.data.conversation.id) state.update('conversation', { stored: true });
        view.root.setAttribute('data-message-id', sent.answer_id);
        if (userNode) userNode.setAttribute('data-message-id', sent.user_message.id);
        refreshList();
      })
      .catch((/** @type {any} */ err) => {
        /** @type {ErrorInfo} */
        const error = { kind: err.kind ?? 'internal', message: err.message };
        view.finish({
          status: 'error', error, finish_reason: null,
          metrics: { ttft_ms: null, total_ms: 0, chunks: 0, tokens_per_s: null },
          usage: { input_tokens: 0, output_tokens: 0, cached_input_tokens: 0 }, usage_estimated: true,
          tool_calls: [], text: '', cost: null,
        });
        release(stream);
      });
  }

  /**
   * Sends the composer's text to 2-4 provider/model pairs at once: their
   * answers stream side by side, each with its own Stop, metrics and
   * status; "Use this answer" keeps one for the conversation (the others
   * stay as versions of the turn).
   * @param {{providerId: string|null, model: string, label: string}[]} targets
   */
  function compareSend(targets) {
    const text = composer.text();
    if (!text.trim() || state.data.active || state.data.editing || targets.length < 2) return;
    tail.answer?.dropRetry();
    noLongerLast(tail.user);
    noLongerLast(tail.answer?.root);
    // Every column gets the same files.
    const files = attachments.views();
    const fileIds = attachments.ids();
    attachments.clear();
    const node = userMessage(text, '', { last: true, attachments: files }, handlers);
    tail.user = node;
    tail.answer = null;
    messages.append(node);
    renderEmpty();
    composer.clear();
    const grid = el('div', { class: 'compare-columns', 'data-testid': 'compare-columns' });
    messages.append(grid);
    scrollToBottom(messages);
    const convId = state.data.conversation.id;
    const columnHandlers = { onRetry: () => {}, onInspect: handlers.onInspect };
    const cols = targets.map((target, i) => {
      const streamId = newId();
      const view = new AssistantView(streamId, columnHandlers);
      const stop = el('button', { type: 'button', class: 'compare-stop', 'data-testid': 'compare-stop' }, t('compare.stop'));
      const pick = el('button', { type: 'button', class: 'compare-pick', 'data-testid': 'compare-pick', hidden: '' }, t('compare.pick'));
      const col = el('section', {
        class: 'compare-column', 'data-testid': 'compare-column', 'data-column': String(i), 'data-status': 'streaming',
        'aria-label': target.label,
      }, [el('header', {}, [el('span', { class: 'compare-label', 'data-testid': 'compare-label' }, target.label), stop]), view.root, pick]);
      grid.append(col);
      stop.addEventListener('click', () => ipc.cancelStream(streamId).catch(() => {}));
      return { streamId, view, col, stop, pick };
    });
    /** @type {ActiveStream} */
    const stream = { streamId: cols[0].streamId, others: cols.slice(1).map((c) => c.streamId) };
    state.set('active', stream);
    let left = cols.length;
    const ended = () => {
      if (--left > 0) return;
      release(stream);
      refreshList();
    };
    const probes = instruments ? instruments.compareStarted(cols.length) : null;
    const loops = cols.map((c, i) => applyLoop(c.view, clock, probes?.[i] ?? null, (/** @type {StreamEnd} */ end) => {
      c.view.dropRetry();
      c.col.setAttribute('data-status', end.status);
      c.stop.hidden = true;
      c.pick.hidden = false;
      if (end.cost && convId === state.data.conversation.id) {
        state.update('conversation', { cost: addCost(state.data.conversation.cost, end.cost) });
      }
      ended();
    }));
    ipc
      .compareMessage(
        {
          conversationId: convId,
          targets: cols.map((c, i) => ({ provider_id: targets[i].providerId, model: targets[i].model || null, stream_id: c.streamId })),
          systemPrompt: systemPrompt.value, sampling: pickers.sampling(), text, attachments: fileIds,
        },
        (msg) => loops[msg.column]?.(msg.message),
      )
      .then((sent) => {
        if (convId === state.data.conversation.id) state.update('conversation', { stored: true });
        node.setAttribute('data-message-id', sent.user_message.id);
        sent.answer_ids.forEach((id, i) => {
          cols[i].view.root.setAttribute('data-message-id', id);
          cols[i].col.setAttribute('data-message-id', id);
          cols[i].pick.addEventListener('click', () => {
            ipc.activateVersion(id).then(() => open(convId, null), notices.showError);
          });
        });
        refreshList();
      })
      .catch((/** @type {any} */ err) => {
        /** @type {ErrorInfo} */
        const error = { kind: err.kind ?? 'internal', message: err.message };
        for (const c of cols) {
          c.view.finish({
            status: 'error', error, finish_reason: null,
            metrics: { ttft_ms: null, total_ms: 0, chunks: 0, tokens_per_s: null },
            usage: { input_tokens: 0, output_tokens: 0, cached_input_tokens: 0 }, usage_estimated: true,
            tool_calls: [], text: '', cost: null,
          });
          c.view.dropRetry();
          c.col.setAttribute('data-status', 'error');
          c.stop.hidden = true;
        }
        release(stream);
      });
  }

  /** The empty-chat hint shows while no message is on screen. */
  function renderEmpty() {
    $('empty-hint').hidden = !!messages.querySelector('[data-testid="message"]');
  }

  /**
   * Tells screen readers that an answer ended, in one short sentence (the
   * live region never gets the tokens themselves).
   * @param {HTMLElement} answer
   */
  function announce(answer) {
    const status = answer.getAttribute('data-status');
    const text = answer.querySelector('[data-testid="answer"]')?.textContent ?? '';
    const words = text.split(/\s+/).filter(Boolean).length;
    const announcer = $('announcer');
    announcer.textContent = status === 'done'
      ? t('announce.done', { words })
      : status === 'cancelled' ? t('announce.cancelled', { words }) : t('announce.failed');
  }

  function send() {
    const text = composer.text();
    const files = attachments.views();
    if ((!text.trim() && files.length === 0) || state.data.active) return;
    if (state.data.editing) {
      // An edit carries the files left on it (taken here, so leaving edit
      // mode does not drop them).
      const of = editTarget;
      const ids = attachments.ids();
      attachments.clear();
      composer.leaveEditMode();
      composer.clear();
      resend({ kind: 'edit', text, of }, ids, files);
      return;
    }
    noLongerLast(tail.user);
    noLongerLast(tail.answer?.root);
    const node = userMessage(text, '', { last: true, attachments: files }, handlers);
    tail.user = node;
    messages.append(node);
    renderEmpty();
    composer.clear();
    const ids = attachments.ids();
    attachments.clear();
    startStream({ kind: 'new', text }, node, ids);
  }

  /**
   * Answers again or sends an edited question: a new branch from that
   * message (the last answer or question when `of` is null). The message
   * and everything below it leave the screen; they are kept, one arrow
   * away, so the conversation is reloaded when the answer ends.
   * @param {SendKind} kind
   * @param {string[]} [fileIds] an edit's waiting files
   * @param {import('../types/ipc').AttachmentView[]} [files] and how they look
   */
  function resend(kind, fileIds = [], files = []) {
    if (state.data.active || kind.kind === 'new') return;
    /** @param {Element|null} from removes it and everything after it */
    const cut = (from) => {
      let n = from;
      while (n) {
        const next = n.nextElementSibling;
        n.remove();
        n = next;
      }
    };
    const at = kind.of ? messages.querySelector(`[data-message-id="${CSS.escape(kind.of)}"]`) : null;
    if (kind.kind === 'edit') {
      cut(at ?? tail.user);
      const node = userMessage(kind.text, '', { last: true, attachments: files }, handlers);
      tail.user = node;
      messages.append(node);
      tail.answer = null;
      startStream(kind, node, fileIds);
      return;
    }
    if (at && at.getAttribute('data-role') === 'assistant') cut(at);
    else tail.answer?.root.remove();
    tail.answer = null;
    startStream(kind, null);
  }

  /** Stops the running stream (its end arrives on its channel). */
  function cancel() {
    const active = state.data.active;
    if (!active) return;
    instruments?.streamCancelled();
    ipc.cancelStream(active.streamId).catch(() => {});
    for (const id of active.others ?? []) ipc.cancelStream(id).catch(() => {});
  }

  /** Shows an empty conversation (stored at its first message). */
  function newChat() {
    cancel();
    pendingToolsOff = null;
    state.update('conversation', { id: newId(), stored: false, title: '', cost: null, origin: null });
    state.set('active', null);
    tail.answer = null;
    tail.user = null;
    composer.leaveEditMode();
    state.update('paging', { oldestSeq: null, hasMore: false });
    state.set('openGen', state.data.openGen + 1);
    messages.replaceChildren();
    renderEmpty();
    systemPrompt.value = '';
    pickers.setThinking(null);
    pickers.setSampling(null);
    // New conversations use the default provider.
    pickers.followDefault();
    composer.focus();
  }

  /**
   * Renders stored messages; the `last` ids get the tail actions.
   * @param {MessageView[]} msgs
   * @param {string|null} lastUserId
   * @param {string|null} lastAnswerId
   */
  function renderStored(msgs, lastUserId, lastAnswerId) {
    const frag = document.createDocumentFragment();
    /** @type {AssistantView|null} */
    let answer = null;
    /** @type {HTMLElement|null} */
    let user = null;
    for (const m of msgs) {
      if (m.role === 'user') {
        // Every fork has its arrows: switching one leaves the other branches as they are.
        const last = m.id === lastUserId;
        const node = userMessage(m.content, m.id,
          { version: m.version, versions: m.versions, last, attachments: m.attachments }, handlers);
        if (last) user = node;
        frag.append(node);
      } else {
        const last = m.id === lastAnswerId;
        const v = AssistantView.fromStored(m, handlers, last);
        if (last) answer = v;
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
  async function open(id, focusMessage) {
    // The stream keeps going in the backend only while its view is on screen.
    if (state.data.active) cancel();
    const gen = state.data.openGen + 1;
    state.set('openGen', gen);
    const openedAt = performance.now();
    try {
      // A message in a hidden branch (a search hit, a fork's arrow) opens
      // that branch.
      if (focusMessage) await ipc.activateVersion(focusMessage);
      let page = await ipc.openConversation(id, null, PAGE);
      let msgs = page.messages;
      while (focusMessage && page.has_more && !msgs.some((m) => m.id === focusMessage)) {
        page = await ipc.openConversation(id, msgs[0]?.seq ?? null, PAGE * 4);
        msgs = [...page.messages, ...msgs];
      }
      if (gen !== state.data.openGen) return;
      state.update('conversation', {
        id, stored: true, title: page.conversation.title, cost: page.cost, origin: page.imported_from,
      });
      state.set('active', null);
      composer.leaveEditMode();
      state.update('paging', { oldestSeq: msgs[0]?.seq ?? null, hasMore: page.has_more });
      const lastUserId = [...msgs].reverse().find((m) => m.role === 'user')?.id ?? null;
      const lastAnswerMsg = [...msgs].reverse().find((m) => m.role === 'assistant');
      const lastAnswerId = msgs.length && msgs[msgs.length - 1].role === 'assistant' ? lastAnswerMsg?.id ?? null : null;
      const { frag, answer, user } = renderStored(msgs, lastUserId, lastAnswerId);
      messages.replaceChildren(frag);
      renderEmpty();
      tail.answer = answer;
      tail.user = user;
      systemPrompt.value = page.conversation.system_prompt;
      // A conversation's system prompt is never hidden (an imported one
      // steers every answer): the box opens when there is one.
      if (page.conversation.system_prompt.trim()) systemBox.open = true;
      pickers.setThinking(page.conversation.thinking_budget);
      pickers.setSampling(page.conversation.sampling);
      pickers.choose(page.conversation.provider, page.conversation.model ?? '', true);
      instruments?.opened(openedAt);
      if (focusMessage) {
        const target = messages.querySelector(`[data-message-id="${CSS.escape(focusMessage)}"]`);
        if (target) {
          target.classList.add('highlight');
          target.setAttribute('data-highlighted', 'true');
          target.scrollIntoView({ block: 'center' });
        }
      } else {
        scrollToBottom(messages);
      }
    } catch (e) {
      notices.showError(e);
    }
  }

  /** Loads the previous page when the list is scrolled to the top. */
  async function loadOlder() {
    const paging = state.data.paging;
    if (paging.loading || !paging.hasMore || paging.oldestSeq === null) return;
    state.update('paging', { loading: true });
    const id = state.data.conversation.id;
    try {
      const gen = state.data.openGen;
      const page = await ipc.openConversation(id, paging.oldestSeq, PAGE);
      if (id !== state.data.conversation.id || gen !== state.data.openGen) return;
      const before = messages.scrollHeight;
      const { frag } = renderStored(page.messages, null, null);
      messages.prepend(frag);
      // Keep what the user was reading in place.
      messages.scrollTop += messages.scrollHeight - before;
      state.update('paging', { oldestSeq: page.messages[0]?.seq ?? state.data.paging.oldestSeq, hasMore: page.has_more });
    } catch (e) {
      notices.showError(e);
    } finally {
      state.update('paging', { loading: false });
    }
  }

  messages.addEventListener('scroll', () => {
    if (messages.scrollTop < 200) loadOlder();
  });
  // Links in answers open in the system browser, never in this window.
  messages.addEventListener('click', (ev) => {
    const target = /** @type {Element} */ (ev.target);
    const link = target.closest?.('a[href]');
    if (!link) return;
    ev.preventDefault();
    const href = link.getAttribute('href') ?? '';
    const open = () => ipc.openExternal(href).catch((/** @type {Error} */ e) => notices.showError(e));
    if (hidesItsTarget(link.textContent ?? '', href)) notices.confirmLink(href, open);
    else open();
  });
  sendBtn.addEventListener('click', send);
  cancelBtn.addEventListener('click', cancel);
  $('clear').addEventListener('click', newChat);

  return {
    open,
    newChat,
    send,
    compareSend,
    cancel,
    /** Draws the open conversation again (the language changed); an answer being streamed is left alone. */
    reopen() {
      // What was announced is said; a stale sentence in the old language is not left behind.
      $('announcer').textContent = '';
      const { id, stored } = state.data.conversation;
      if (stored && !state.data.active) open(id, null);
    },
    /** Tools switched off before the conversation is stored. @param {string[]} off */
    setPendingToolsOff(off) {
      pendingToolsOff = off;
    },
    /** No message is on screen. */
    isEmpty: () => !messages.querySelector('[data-testid="message"]'),
    /** Installs (or, with null, removes) the measurement hooks. @param {Instrumentation|null} hooks */
    instrument(hooks) {
      instruments = hooks;
    },
  };
}
