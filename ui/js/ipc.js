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
 *   onboarding: boolean, presets: Preset[], settings_path: string}} UiState
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
 * Starts a stream. `text` null answers the last user message again.
 * @param {{conversationId: string, streamId: string, providerId: string|null, model: string|null,
 *   systemPrompt: string, text: string|null}} req
 * @param {(msg: StreamMessage) => void} onMessage called in order for every message
 * @returns {Promise<void>}
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
