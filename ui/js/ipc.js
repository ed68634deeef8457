// @ts-check
/**
 * The one module that talks to the Rust backend. Everything else calls these
 * functions. Keys never cross this boundary: the backend reads them itself.
 */

/** @typedef {{kind: string, message: string, status?: number, retry_after_s?: number}} ErrorInfo */
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

/**
 * @typedef {{set: boolean, last4: string|null, saved: boolean, problem: string|null}} KeyStatus
 * @typedef {{id: string, name: string, kind: string, base_url: string, default_model: string,
 *   extra_headers?: Record<string, string>, models?: {fetched_at: number, models: string[]},
 *   key: KeyStatus, key_label: string, needs_key: boolean, usable: boolean, from_env: boolean,
 *   problem: string|null}} ProviderView
 * @typedef {{id: string, name: string, kind: string, base_url: string, default_model: string}} Preset
 * @typedef {{providers: ProviderView[], default_provider: string|null, theme: 'system'|'light'|'dark',
 *   system_prompts: {name: string, text: string}[], notice: string|null,
 *   env_import: {openai_key: boolean, base_url: string|null, anthropic_key: boolean}|null,
 *   onboarding: boolean, presets: Preset[], settings_path: string, page_metrics: boolean}} UiState
 * @typedef {{stored: boolean, status: KeyStatus, test_error: ErrorInfo|null, keychain_error: string|null,
 *   models: string[]}} KeySaveResult
 * @typedef {{id: string, key_removed: boolean}} SavedProvider
 */

/** @returns {Promise<UiState>} providers (never keys), theme, onboarding */
export function getState() {
  return call('get_state');
}

/**
 * Adds (id null) or edits a provider; resolves to its id and whether its key
 * was removed (its host changed).
 * @param {{id: string|null, name: string, kind: string, base_url: string, default_model: string,
 *   extra_headers?: Record<string, string>}} provider
 * @returns {Promise<SavedProvider>}
 */
export function saveProvider(provider) {
  return call('save_provider', { provider });
}

/** @param {string} id @returns {Promise<string>} the copy's id */
export function duplicateProvider(id) {
  return call('duplicate_provider', { id });
}

/** @param {string} id @returns {Promise<void>} */
export function deleteProvider(id) {
  return call('delete_provider', { id });
}

/** @param {string} id @returns {Promise<void>} */
export function setDefaultProvider(id) {
  return call('set_default_provider', { id });
}

/** @param {'system'|'light'|'dark'} theme @returns {Promise<void>} */
export function setTheme(theme) {
  return call('set_theme', { theme });
}

/**
 * Sends a key to the backend once: it is tested and saved to the OS keychain.
 * It never comes back; only its status does.
 * @param {string} providerId
 * @param {string} key
 * @param {boolean} force save even if the test fails
 * @returns {Promise<KeySaveResult>}
 */
export function setApiKey(providerId, key, force) {
  return call('set_api_key', { providerId, key, force });
}

/** @param {string} providerId @returns {Promise<void>} */
export function deleteApiKey(providerId) {
  return call('delete_api_key', { providerId });
}

/** @param {string} providerId @param {boolean} refresh @returns {Promise<string[]>} */
export function listModels(providerId, refresh) {
  return call('list_models', { providerId, refresh });
}

/** @returns {Promise<string>} the provider id the environment's key was saved under */
export function importEnv() {
  return call('import_env');
}

/**
 * @typedef {{kind: 'new', text: string} | {kind: 'regenerate'} | {kind: 'edit', text: string}} SendKind
 * @typedef {{id: string, role: 'user'|'assistant', status: string, content: string, html: string|null,
 *   reasoning: string|null, tool_calls: ToolCallView[], error: ErrorInfo|null, finish_reason: string|null,
 *   usage: {input_tokens: number, output_tokens: number, estimated?: boolean}|null,
 *   metrics: {ttft_ms: number|null, total_ms: number, chunks: number, tokens_per_s: number|null}|null,
 *   version: [number, number], versions: string[], seq: number, parent_id: string|null}} MessageView
 * @typedef {{conversation_id: string, user_message: MessageView, answer_id: string}} Sent
 * @typedef {{id: string, title: string, created: number, updated: number, pinned: boolean,
 *   provider: string|null, model: string|null, system_prompt: string, thinking_budget: number|null}} ConversationSummary
 * @typedef {{pinned: boolean, updated: number, id: string}} Cursor
 * @typedef {{id: string, title: string, updated: number, message_id: string|null, snippet: string}} SearchHit
 * @typedef {{conversation: ConversationSummary, messages: MessageView[], has_more: boolean}} ConversationPage
 * @typedef {{path: string, message: string, can_move_aside: boolean}} StoreProblem
 */

/**
 * Records a turn in the stored conversation and starts streaming its answer.
 * @param {{conversationId: string, streamId: string, providerId: string|null, model: string|null,
 *   systemPrompt: string, thinkingBudget: number|null, send: SendKind}} req
 * @param {(msg: StreamMessage) => void} onMessage called in order for every message
 * @returns {Promise<Sent>}
 */
export function sendMessage(req, onMessage) {
  const channel = new (tauri().Channel)();
  channel.onmessage = onMessage;
  return call('send_message', {
    conversationId: req.conversationId,
    streamId: req.streamId,
    providerId: req.providerId,
    model: req.model,
    systemPrompt: req.systemPrompt,
    thinkingBudget: req.thinkingBudget,
    send: req.send,
    onEvent: channel,
  });
}

/** @returns {Promise<StoreProblem|null>} why the conversation database is unavailable */
export function storeProblem() {
  return call('store_problem');
}

/** @returns {Promise<string>} where the unusable database was moved */
export function resetStore() {
  return call('reset_store');
}

/** @param {Cursor|null} cursor @param {number} limit @returns {Promise<ConversationSummary[]>} */
export function listConversations(cursor, limit) {
  return call('list_conversations', { cursor, limit });
}

/**
 * @param {string} id
 * @param {number|null} beforeSeq
 * @param {number} limit
 * @returns {Promise<ConversationPage>}
 */
export function openConversation(id, beforeSeq, limit) {
  return call('open_conversation', { id, beforeSeq, limit });
}

/** @param {string} id @param {string} title @returns {Promise<void>} */
export function renameConversation(id, title) {
  return call('rename_conversation', { id, title });
}

/** @param {string} id @param {boolean} pinned @returns {Promise<void>} */
export function pinConversation(id, pinned) {
  return call('pin_conversation', { id, pinned });
}

/** @param {string} id @returns {Promise<string>} a token for undoDelete */
export function deleteConversation(id) {
  return call('delete_conversation', { id });
}

/** @param {string} token @returns {Promise<string>} the restored conversation's id */
export function undoDelete(token) {
  return call('undo_delete', { token });
}

/** @param {string} query @returns {Promise<SearchHit[]>} */
export function searchConversations(query) {
  return call('search_conversations', { query });
}

/** @param {string} messageId @returns {Promise<void>} */
export function activateVersion(messageId) {
  return call('activate_version', { messageId });
}

/** @param {string} id @param {'md'|'json'} format @returns {Promise<string|null>} the path written */
export function exportConversation(id, format) {
  return call('export_conversation', { id, format });
}

/** @returns {Promise<string|null>} the imported conversation's id */
export function importConversation() {
  return call('import_conversation');
}

/** @param {string} streamId @returns {Promise<boolean>} */
export function cancelStream(streamId) {
  return call('cancel_stream', { streamId });
}


/** @param {string} url @returns {Promise<void>} */
export function openExternal(url) {
  return call('open_external', { url });
}
