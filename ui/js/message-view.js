// @ts-check
/**
 * DOM of one message. Model text only ever enters the page as text nodes or as
 * HTML that the backend rendered and sanitized (ammonia); never raw.
 * Per-token work is bounded: completed blocks are inserted once, the open block
 * is replaced at most once per frame, code and reasoning grow append-only.
 */
import { coalesceOps, formatError, formatMetrics, formatRetrying } from './format.js';
import { appendSanitizedHtml, copyText, el, icon, iconButton, setSanitizedHtml, setText, textNode } from './dom.js';
import { formatNumber, t } from './i18n.js';
import { attachmentChip } from './attachments.js';
import { parkWhenFar } from './code-parking.js';

/** @typedef {import('../types/ipc').UiOp} UiOp */
/** @typedef {import('../types/ipc').StreamEnd} StreamEnd */
/** @typedef {import('../types/ipc').MessageView} MessageView */

/** Completed blocks per group in an answer (see appendBlock). */
const BLOCKS_PER_GROUP = 50;

/**
 * The language a code block's class names (`language-rust`), or ''.
 * @param {Element} pre
 */
export function codeLanguage(pre) {
  const code = pre.querySelector('code');
  const m = /(?:^|\s)language-(\S+)/.exec(code?.className ?? '');
  return m ? m[1] : '';
}

/**
 * Adds the language and a Copy button to every code block inside `root`.
 * Copy takes the code's text, without the highlighting or the language.
 * @param {Element} root
 */
function decorateCode(root) {
  for (const pre of root.querySelectorAll('pre')) {
    if (pre.parentElement?.classList.contains('code-wrap')) continue;
    const lang = codeLanguage(pre);
    const wrap = el('div', { class: lang ? 'code-wrap with-lang' : 'code-wrap' });
    pre.replaceWith(wrap);
    wrap.append(pre);
    if (lang) wrap.append(el('span', { class: 'code-lang', 'data-testid': 'code-lang' }, lang));
    const btn = iconButton('copy', t('message.copy_code'), { class: 'icon-btn code-copy', 'data-testid': 'code-copy' });
    btn.addEventListener('click', () => {
      copyText(pre.textContent ?? '').then(() => copied(btn));
    });
    wrap.append(btn);
    parkWhenFar(pre);
  }
}

/**
 * A copy button says "Copied" for a moment (its icon and its name).
 * @param {HTMLButtonElement} btn
 */
function copied(btn) {
  const label = btn.getAttribute('aria-label') ?? '';
  btn.replaceChildren(icon('check'));
  btn.setAttribute('aria-label', t('message.copied'));
  btn.title = t('message.copied');
  setTimeout(() => {
    btn.replaceChildren(icon('copy'));
    btn.setAttribute('aria-label', label);
    btn.title = label;
  }, 1200);
}

/**
 * The test ids of a message's branch buttons: the last turn's keep the
 * contract's ids (`edit`, `regenerate`, `versions`...), an earlier turn's
 * have their own, so a selector for the last turn never finds an older one.
 */
const EARLIER_IDS = /** @type {const} */ ({
  edit: 'branch-edit',
  regenerate: 'branch-regenerate',
  versions: 'fork',
  version: 'fork-position',
  'version-prev': 'fork-prev',
  'version-next': 'fork-next',
});

/**
 * The test id for a branch button on the last turn (`last`) or an earlier one.
 * @param {keyof typeof EARLIER_IDS} id
 * @param {boolean} last
 */
const branchId = (id, last) => (last ? id : EARLIER_IDS[id]);

/**
 * A turn that was the last is not any more: its branch buttons take the
 * earlier turns' ids.
 * @param {Element|null|undefined} node
 */
export function noLongerLast(node) {
  if (!node) return;
  for (const [id, earlier] of Object.entries(EARLIER_IDS)) {
    for (const e of node.querySelectorAll(`[data-testid="${id}"]`)) e.setAttribute('data-testid', earlier);
  }
}

/**
 * Branch arrows ("‹ 2/3 ›") for a message at a fork.
 * @param {[number, number]} version 1-based position and count
 * @param {string[]} ids the fork's messages, oldest first
 * @param {(id: string) => void} onPick
 * @param {boolean} last on the last turn
 */
function versionArrows(version, ids, onPick, last) {
  const [i, n] = version;
  const box = el('span', { class: 'versions', 'data-testid': branchId('versions', last) });
  const prev = iconButton('chevron-left', t('message.version_prev'), { 'data-testid': branchId('version-prev', last) });
  const next = iconButton('chevron-right', t('message.version_next'), { 'data-testid': branchId('version-next', last) });
  prev.disabled = i <= 1;
  next.disabled = i >= n;
  prev.addEventListener('click', () => onPick(ids[i - 2]));
  next.addEventListener('click', () => onPick(ids[i]));
  box.append(prev, el('span', { 'data-testid': branchId('version', last) }, `${i}/${n}`), next);
  return box;
}

/**
 * What a message's buttons do. `onRegenerate` and `onEdit` get the stored id
 * of the message they are on (null while it is not stored yet).
 * @typedef {{onRetry: () => void, onRegenerate?: (messageId: string|null) => void, onVersion?: (id: string) => void,
 *   onEdit?: (text: string, messageId: string|null) => void, onInspect?: (messageId: string) => void,
 *   onToolAsk?: (view: AssistantView, call: import('../types/ipc').PendingCall) => void}} Handlers
 */

/**
 * A user message (its text as plain text).
 * @param {string} text
 * @param {string} messageId
 * @param {{version?: [number, number], versions?: string[], last?: boolean,
 *   attachments?: import('../types/ipc').AttachmentView[]}} [opts]
 * @param {Handlers} [handlers]
 */
export function userMessage(text, messageId, opts = {}, handlers) {
  const node = el('article', {
    class: 'message', 'data-testid': 'message', 'data-role': 'user', 'data-status': 'done', 'data-message-id': messageId,
  });
  if (opts.attachments?.length) {
    node.append(el('div', { class: 'attachments sent' },
      opts.attachments.map((f) => attachmentChip(f, 'message-attachment', null))));
  }
  if (text) node.append(el('div', { class: 'user-text', 'data-testid': 'user-text' }, text));
  const actions = el('div', { class: 'actions' });
  if (opts.version && opts.version[1] > 1 && handlers?.onVersion) {
    actions.append(versionArrows(opts.version, opts.versions ?? [], handlers.onVersion, !!opts.last));
  }
  const copy = iconButton('copy', t('message.copy'), { 'data-testid': 'copy' });
  copy.addEventListener('click', () => copyText(text).then(() => copied(copy)));
  actions.append(copy);
  if (handlers?.onEdit) {
    // Any question can be edited: the edit is a new branch from there.
    const edit = iconButton('pencil', t('message.edit'), { 'data-testid': branchId('edit', !!opts.last) });
    edit.addEventListener('click', () => handlers.onEdit?.(text, node.getAttribute('data-message-id') || null));
    actions.append(edit);
  }
  if (actions.childNodes.length) node.append(actions);
  return node;
}

/** One assistant answer, fed by stream messages. */
export class AssistantView {
  /**
   * @param {string} messageId
   * @param {Handlers} handlers
   */
  constructor(messageId, handlers) {
    this.handlers = handlers;
    this.root = el('article', {
      class: 'message', 'data-testid': 'message', 'data-role': 'assistant',
      'data-status': 'streaming', 'data-message-id': messageId,
    });
    this.retrying = el('div', { class: 'retrying', 'data-testid': 'retrying' });
    this.retrying.hidden = true;
    // A local model's state (loading, waiting its turn) until the answer
    // starts, and notices that stay (old turns left out).
    this.notice = el('div', { class: 'stream-notice', 'data-testid': 'stream-notice', role: 'status' });
    this.notice.hidden = true;
    this.noticeLasts = false;
    this.answer = el('div', { class: 'answer', 'data-testid': 'answer' });
    this.open = el('div', { class: 'open-block' });
    this.answer.append(this.open);
    this.root.append(this.retrying, this.notice, this.answer);
    /** @type {HTMLDetailsElement|null} */ this.reasoning = null;
    /** @type {Text|null} */ this.reasoningText = null;
    /** @type {Text|null} the open code block's unfinished line */ this.codeText = null;
    /** @type {HTMLElement|null} the open code block's code element */ this.code = null;
    /** @type {HTMLElement|null} */ this.codeWrap = null;
    /** @type {HTMLElement|null} the group completed blocks go in */ this.group = null;
    /** @type {Text|null} */ this.refusalText = null;
    /** @type {HTMLElement|null} */ this.toolBox = null;
    /** @type {Map<number, {root: HTMLElement, name: HTMLElement, args: Text}>} */ this.tools = new Map();
    /** @type {ReturnType<typeof setInterval>|null} */ this.retryTimer = null;
    /** @type {string|null} the stream feeding it (its tool calls are asked about under it) */ this.streamId = null;
    this.rawText = '';
    this.answerSeen = false;
  }

  /** @param {UiOp[]} ops */
  apply(ops) {
    for (const op of coalesceOps(ops)) {
      switch (op.op) {
        case 'retrying': this.showRetrying(op); break;
        case 'waiting': this.showNotice(t('stream.waiting'), false); break;
        case 'loading': this.showNotice(t('stream.loading', { p: op.percent }), false); break;
        case 'notice': this.showNotice(op.text, true); break;
        case 'context_trimmed': this.showNotice(t('stream.context_dropped', { n: formatNumber(op.dropped) }), true); break;
        case 'reasoning': this.appendReasoning(op.text); break;
        case 'block': this.appendBlock(op.html); break;
        case 'open': this.answerStarted(); setSanitizedHtml(this.open, op.html); break;
        case 'code_open': this.openCode(op.lang); break;
        case 'code_append': this.codeText?.appendData(op.text); break;
        case 'code_lit': this.litCode(op.html, op.tail); break;
        case 'code_close': this.closeCodeInPlace(); break;
        case 'refusal': this.appendRefusal(op.text); break;
        case 'tool_call': this.toolCall(op.index, op.id, op.name); break;
        case 'tool_args': this.toolCall(op.index, null, null).args.appendData(op.text); break;
        case 'tool_ask': this.toolState(op.call.call_id, 'waiting'); this.handlers.onToolAsk?.(this, op.call); break;
        case 'tool_running': this.toolState(op.call_id, 'running'); break;
        case 'tool_step': this.showStep(op.step); break;
        default: break;
      }
    }
  }

  /** @param {Extract<UiOp, {op: 'retrying'}>} op */
  showRetrying(op) {
    const until = Date.now() + op.delay_ms;
    const tick = () => { setText(this.retrying, formatRetrying(op, until - Date.now())); };
    this.clearRetrying();
    this.retrying.hidden = false;
    tick();
    this.retryTimer = setInterval(tick, 250);
  }

  /** Ends the retry notice: its text leaves the page, not just the view. */
  clearRetrying() {
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = null;
    this.retrying.hidden = true;
    setText(this.retrying, '');
  }

  /**
   * @param {string} text
   * @param {boolean} lasts kept after the answer starts
   */
  showNotice(text, lasts) {
    if (this.noticeLasts && !lasts) return;
    this.noticeLasts = lasts;
    this.notice.hidden = false;
    setText(this.notice, text);
  }

  answerStarted() {
    this.clearRetrying();
    if (!this.noticeLasts && !this.notice.hidden) {
      this.notice.hidden = true;
      setText(this.notice, '');
    }
    if (this.reasoning && !this.answerSeen) this.reasoning.open = false;
    this.answerSeen = true;
  }

  /** @param {string} text */
  appendReasoning(text) {
    this.clearRetrying();
    if (!this.reasoning) {
      this.reasoning = el('details', { class: 'reasoning', 'data-testid': 'reasoning' });
      this.reasoning.open = !this.answerSeen;
      const body = el('div', { class: 'reasoning-text' });
      this.reasoningText = textNode();
      body.append(this.reasoningText);
      this.reasoning.append(el('summary', {}, [icon('brain', 'small'), t('message.thinking')]), body);
      this.root.insertBefore(this.reasoning, this.answer);
    }
    this.reasoningText?.appendData(text);
  }

  /** @param {string} html sanitized by the backend */
  appendBlock(html) {
    this.answerStarted();
    const block = el('div', { class: 'md-block' });
    setSanitizedHtml(block, html);
    decorateCode(block);
    this.placeBlock(block);
    this.open.textContent = '';
    this.closeCode();
  }

  /**
   * Puts a completed block at the end of the answer. Completed blocks go in
   * groups, so that each frame's layout and paint walk a few groups instead
   * of every block of a long answer.
   * @param {HTMLElement} block
   */
  placeBlock(block) {
    if (!this.group || this.group.childElementCount >= BLOCKS_PER_GROUP) {
      this.group = el('div', { class: 'md-group' });
      this.answer.insertBefore(this.group, this.open);
    }
    this.group.append(block);
  }

  /**
   * Highlighted lines replace the open code block's plain text; the
   * unfinished line stays plain after them.
   * @param {string} html highlighted by the backend
   * @param {string} tail
   */
  litCode(html, tail) {
    if (!this.code || !this.codeText) return;
    appendSanitizedHtml(this.code, html);
    this.code.append(this.codeText);
    this.codeText.data = tail;
  }

  /** The open code block is complete: it stays as it is, as a completed block. */
  closeCodeInPlace() {
    const wrap = this.codeWrap;
    if (!wrap) return;
    this.codeText?.remove();
    wrap.classList.remove('code-open');
    this.codeWrap = null;
    this.codeText = null;
    this.code = null;
    this.placeBlock(wrap);
    decorateCode(wrap);
  }

  /** @param {string} lang */
  openCode(lang) {
    this.answerStarted();
    this.closeCode();
    this.open.textContent = '';
    const pre = el('pre');
    const code = el('code', lang ? { class: `language-${lang}` } : {});
    this.codeText = textNode();
    code.append(this.codeText);
    this.code = code;
    pre.append(code);
    this.codeWrap = el('div', { class: 'md-block code-open' });
    this.codeWrap.append(pre);
    this.answer.insertBefore(this.codeWrap, this.open);
  }

  closeCode() {
    this.codeWrap?.remove();
    this.codeWrap = null;
    this.codeText = null;
    this.code = null;
  }

  /** @param {string} text */
  appendRefusal(text) {
    this.answerStarted();
    if (!this.refusalText) {
      const box = el('div', { class: 'refusal', 'data-testid': 'refusal' });
      this.refusalText = textNode();
      box.append(this.refusalText);
      this.answer.after(box);
    }
    this.refusalText.appendData(text);
  }

  /**
   * @param {number} index
   * @param {string|null|undefined} id
   * @param {string|null|undefined} name
   */
  toolCall(index, id, name) {
    this.clearRetrying();
    let tool = this.tools.get(index);
    if (!tool) {
      if (!this.toolBox) {
        this.toolBox = el('div', { class: 'tool-calls' });
        this.root.insertBefore(this.toolBox, this.answer.nextSibling);
      }
      const root = el('div', { class: 'tool-call', 'data-testid': 'tool-call' });
      const nameEl = el('div', { class: 'tool-name' }, t('message.tool_call'));
      const pre = el('pre', { class: 'tool-args' });
      const args = textNode();
      pre.append(args);
      root.append(nameEl, pre);
      this.toolBox.append(root);
      tool = { root, name: nameEl, args };
      this.tools.set(index, tool);
    }
    if (name) tool.name.textContent = name;
    if (id) tool.root.setAttribute('data-tool-call-id', id);
    return tool;
  }

  /**
   * The box of the call with this id (a new one when the stream named none).
   * @param {string} callId
   */
  toolById(callId) {
    for (const tool of this.tools.values()) {
      if (tool.root.getAttribute('data-tool-call-id') === callId) return tool;
    }
    return this.toolCall(this.tools.size, callId, null);
  }

  /**
   * Marks a call as waiting for the user, running, or how it ended.
   * @param {string} callId
   * @param {'waiting'|'running'|import('../types/ipc').Approval} state
   */
  toolState(callId, state) {
    const tool = this.toolById(callId);
    tool.root.setAttribute('data-tool-state', state);
    let badge = tool.root.querySelector('.tool-state');
    if (!badge) {
      badge = el('span', { class: 'tool-state', 'data-testid': 'tool-state' });
      tool.name.after(badge);
    }
    badge.textContent = t(`tool.state_${state}`);
  }

  /**
   * A call's step: how it was approved, its result (text only) and time.
   * @param {import('../types/ipc').ToolStep} step
   */
  showStep(step) {
    const tool = this.toolById(step.call_id);
    if (!tool.args.data) tool.args.data = step.arguments;
    if (tool.name.textContent === t('message.tool_call')) tool.name.textContent = step.name;
    this.toolState(step.call_id, step.approved);
    tool.root.setAttribute('data-tool-error', String(step.is_error));
    tool.root.querySelector('.tool-result')?.remove();
    const ran = step.approved === 'allowed' || step.approved === 'allowed_always' || step.approved === 'trusted';
    const summary = ran
      ? t(step.is_error ? 'tool.failed_in' : 'tool.done_in', { ms: step.duration_ms })
      : t('tool.result');
    const pre = el('pre', { class: 'tool-output' }, step.result);
    const box = el('details', { class: 'tool-result', 'data-testid': 'tool-result' }, [el('summary', {}, summary), pre]);
    if (step.images?.length) {
      box.append(el('div', { class: 'tool-images' }, (step.images ?? []).map((i) =>
        el('img', { src: `data:${i.mime};base64,${i.data}`, alt: t('tool.image'), 'data-testid': 'tool-image' }))));
    }
    tool.root.append(box);
  }

  /**
   * A stored answer, rendered through the same steps as a streamed one.
   * @param {MessageView} m
   * @param {Handlers} handlers
   * @param {boolean} last the conversation's last answer (a failed one gets Retry)
   */
  static fromStored(m, handlers, last) {
    const v = new AssistantView(m.id, handlers);
    if (m.reasoning) v.appendReasoning(m.reasoning);
    if (m.html) v.appendBlock(m.html);
    if (m.status === 'streaming') {
      v.root.setAttribute('data-status', 'streaming');
      return v;
    }
    const u = m.usage;
    v.finish({
      status: m.status,
      error: m.error,
      finish_reason: m.finish_reason,
      metrics: m.metrics ?? { ttft_ms: null, total_ms: 0, chunks: 0, tokens_per_s: null },
      usage: {
        input_tokens: u?.input_tokens ?? 0, output_tokens: u?.output_tokens ?? 0,
        cached_input_tokens: u?.cached_input_tokens ?? 0,
      },
      usage_estimated: u ? !!u.estimated : true,
      tool_calls: m.tool_calls,
      text: m.content,
      cost: m.cost,
    }, last, m.version[1] > 1 ? { version: m.version, versions: m.versions } : undefined);
    for (const step of m.tool_steps) v.showStep(step);
    return v;
  }

  /**
   * @param {StreamEnd} end
   * @param {boolean} [last] the conversation's last answer
   * @param {{version: [number, number], versions: string[]}} [versions]
   */
  finish(end, last = true, versions) {
    this.clearRetrying();
    this.closeCode();
    this.rawText = end.text ?? '';
    this.root.setAttribute('data-status', end.status);
    end.tool_calls.forEach((call, i) => {
      const tool = this.toolCall(i, call.id, call.name);
      tool.args.data = call.arguments;
      if (!call.valid_json) {
        tool.root.append(el('div', { class: 'tool-note' }, t('message.tool_args_incomplete')));
      }
    });
    if (end.error) {
      const box = el('div', { class: 'error', 'data-testid': 'error', 'data-error-kind': end.error.kind }, formatError(end.error));
      this.root.append(box);
    }
    // Said while it streamed; said again from the stored metrics on reopen.
    const dropped = end.metrics.context_dropped;
    if (dropped) this.showNotice(t('stream.context_dropped', { n: formatNumber(dropped) }), true);
    const m = formatMetrics(end);
    this.root.append(el('div', { class: 'metrics', 'data-testid': 'metrics', ...m.attrs }, m.text));
    const actions = el('div', { class: 'actions' });
    const copy = iconButton('copy', t('message.copy_answer'), { 'data-testid': 'copy' });
    copy.addEventListener('click', () => copyText(this.rawText).then(() => copied(copy)));
    actions.append(copy);
    if (this.handlers.onInspect) {
      const inspect = iconButton('activity', t('message.inspect'), { 'data-testid': 'inspect-open' });
      inspect.addEventListener('click', () => {
        const id = this.root.getAttribute('data-message-id');
        if (id) this.handlers.onInspect?.(id);
      });
      actions.append(inspect);
    }
    if (last && end.status !== 'done') {
      const retry = el('button', { type: 'button', class: 'retry', 'data-testid': 'retry', title: t('message.retry_tip') },
        [icon('rotate-ccw', 'small'), t('message.retry')]);
      retry.addEventListener('click', () => this.handlers.onRetry());
      actions.append(retry);
    } else if (this.handlers.onRegenerate) {
      // Any answer can be answered again: a new branch beside it.
      const regen = iconButton('refresh-cw', t('message.regenerate'), { 'data-testid': branchId('regenerate', last) });
      regen.addEventListener('click', () => this.handlers.onRegenerate?.(this.root.getAttribute('data-message-id')));
      actions.append(regen);
    }
    if (versions && this.handlers.onVersion) {
      actions.append(versionArrows(versions.version, versions.versions, this.handlers.onVersion, last));
    }
    this.root.append(actions);
  }

  /** Retry leaves once a newer turn exists (Regenerate stays: it branches). */
  dropRetry() {
    this.root.querySelector('[data-testid="retry"]')?.remove();
  }
}
