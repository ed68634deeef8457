// @ts-check
/**
 * The one module that talks to the Rust backend. Everything else calls these
 * functions. Keys never cross this boundary: the backend reads them itself.
 */

/** @typedef {{kind: string, message: string, status?: number, retry_after_s?: number}} ErrorInfo */
/** @typedef {{base_url: string, model: string, has_key: boolean, setup_problem: string|null, version: string}} AppInfo */
/** @typedef {{op: string, [k: string]: any}} UiOp */
/** @typedef {{id: string, name: string, arguments: string, valid_json: boolean}} ToolCallView */
/**
 * @typedef {{status: 'done'|'cancelled'|'error', error: ErrorInfo|null, finish_reason: string|null,
 *   metrics: {ttft_ms: number|null, total_ms: number, chunks: number, tokens_per_s: number|null},
 *   usage: {input_tokens: number, output_tokens: number}, usage_estimated: boolean,
 *   tool_calls: ToolCallView[], text: string}} StreamEnd
 */
/** @typedef {{type: 'ops', ops: UiOp[]} | ({type: 'end'} & StreamEnd)} StreamMessage */

/** @returns {any} */
function tauri() {
  const t = /** @type {any} */ (window).__TAURI__;
  if (!t || !t.core) throw new Error('The Runnel backend is not available (is this page running inside the app?)');
  return t.core;
}

/**
 * Invokes a command; rejects with an Error carrying `kind`.
 * @param {string} cmd
 * @param {Record<string, unknown>} [args]
 */
async function call(cmd, args) {
  try {
    return await tauri().invoke(cmd, args);
  } catch (e) {
    const info = /** @type {any} */ (e);
    const err = new Error(typeof info === 'string' ? info : info?.message ?? String(info));
    /** @type {any} */ (err).kind = info?.kind ?? 'internal';
    throw err;
  }
}

/** @returns {Promise<AppInfo>} */
export function appInfo() {
  return call('app_info');
}

/**
 * Starts a stream. `text` null answers the last user message again.
 * @param {{conversationId: string, streamId: string, systemPrompt: string, text: string|null}} req
 * @param {(msg: StreamMessage) => void} onMessage called in order for every message
 * @returns {Promise<void>}
 */
export function sendMessage(req, onMessage) {
  const channel = new (tauri().Channel)();
  channel.onmessage = onMessage;
  return call('send_message', {
    conversationId: req.conversationId,
    streamId: req.streamId,
    systemPrompt: req.systemPrompt,
    text: req.text,
    onEvent: channel,
  });
}

/** @param {string} streamId @returns {Promise<boolean>} */
export function cancelStream(streamId) {
  return call('cancel_stream', { streamId });
}

/** @param {string} conversationId @returns {Promise<void>} */
export function forgetConversation(conversationId) {
  return call('forget_conversation', { conversationId });
}

/** @param {string} url @returns {Promise<void>} */
export function openExternal(url) {
  return call('open_external', { url });
}
