// @ts-check
/**
 * The one module that talks to the Rust backend. Everything else calls these
 * functions. Keys never cross this boundary: the backend reads them itself.
 */

/** @typedef {import('../types/ipc').ConversationPage} ConversationPage */
/** @typedef {import('../types/ipc').ConversationSummary} ConversationSummary */
/** @typedef {import('../types/ipc').Cursor} Cursor */
/** @typedef {import('../types/ipc').ViewReply} ViewReply */
/** @typedef {import('../types/ipc').ViewPatch} ViewPatch */
/** @typedef {import('../types/ipc').ExportFormat} ExportFormat */
/** @typedef {import('../types/ipc').TraceView} TraceView */
/** @typedef {import('../types/ipc').TraceFormat} TraceFormat */
/** @typedef {import('../types/ipc').CompareTarget} CompareTarget */
/** @typedef {import('../types/ipc').CompareMessage} CompareMessage */
/** @typedef {import('../types/ipc').CompareSent} CompareSent */
/** @typedef {import('../types/ipc').UsageReport} UsageReport */
/** @typedef {import('../types/ipc').PriceEntry} PriceEntry */
/** @typedef {import('../types/ipc').Price} Price */
/** @typedef {import('../types/ipc').TraceSettings} TraceSettings */
/** @typedef {import('../types/ipc').IpcError} IpcError */
/** @typedef {import('../types/ipc').KeySaveResult} KeySaveResult */
/** @typedef {import('../types/ipc').ProviderInput} ProviderInput */
/** @typedef {import('../types/ipc').SavedProvider} SavedProvider */
/** @typedef {import('../types/ipc').SearchHit} SearchHit */
/** @typedef {import('../types/ipc').SendKind} SendKind */
/** @typedef {import('../types/ipc').Sent} Sent */
/** @typedef {import('../types/ipc').StoreProblem} StoreProblem */
/** @typedef {import('../types/ipc').BackupInfo} BackupInfo */
/** @typedef {import('../types/ipc').SearchFilter} SearchFilter */
/** @typedef {import('../types/ipc').StreamMessage} StreamMessage */
/** @typedef {import('../types/ipc').Theme} Theme */
/** @typedef {import('../types/ipc').Language} Language */
/** @typedef {import('../types/ipc').NetworkSettings} NetworkSettings */
/** @typedef {import('../types/ipc').SystemPromptPreset} SystemPromptPreset */
/** @typedef {import('../types/ipc').UiState} UiState */
/** @typedef {import('../types/ipc').Attached} Attached */

/**
 * A rejected command: an Error carrying the command error's `kind`
 * (`internal` when the rejection was not an IpcError).
 * @typedef {Error & {kind: IpcError['kind']}} CommandError
 */

/** @returns {any} */
function tauri() {
  const t = /** @type {any} */ (window).__TAURI__;
  if (!t || !t.core) throw new Error('The Runnel backend is not available (is this page running inside the app?)');
  return t.core;
}

/**
 * Invokes a command; rejects with a CommandError. Each wrapper below names
 * what its command resolves to.
 * @param {string} cmd
 * @param {Record<string, unknown>|Uint8Array} [args] named arguments, or raw bytes
 * @param {{headers: Record<string, string>}} [options]
 * @returns {Promise<any>}
 */
async function call(cmd, args, options) {
  try {
    return await tauri().invoke(cmd, args, options);
  } catch (e) {
    const info = /** @type {IpcError | string | null | undefined} */ (e);
    const err = /** @type {CommandError} */ (new Error(typeof info === 'string' ? info : info?.message ?? String(info)));
    err.kind = (typeof info === 'string' ? undefined : info?.kind) ?? 'internal';
    throw err;
  }
}

/** @returns {Promise<UiState>} providers (never keys), theme, onboarding */
export function getState() {
  return call('get_state');
}

/**
 * Adds (id null) or edits a provider; resolves to its id and whether its key
 * was removed (its host changed).
 * @param {ProviderInput} provider
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

/** @param {Theme} theme @returns {Promise<void>} */
export function setTheme(theme) {
  return call('set_theme', { theme });
}

/** @param {SystemPromptPreset[]} prompts the named system prompts, in order @returns {Promise<void>} */
export function setSystemPrompts(prompts) {
  return call('set_system_prompts', { prompts });
}

/** @param {NetworkSettings} network timeouts, retries and proxy @returns {Promise<void>} */
export function setNetwork(network) {
  return call('set_network', { network });
}

/**
 * Sends the proxy's password to the backend once: it goes to the keychain and never comes back.
 * @param {string|null} password null deletes it
 * @returns {Promise<void>}
 */
export function setProxyPassword(password) {
  return call('set_proxy_password', { password });
}

/** @param {Language|null} language null: follow the system @returns {Promise<void>} */
export function setLanguage(language) {
  return call('set_language', { language });
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
 * The arguments of `send_message` (the command's own, camelCase as Tauri takes them).
 * @typedef {{conversationId: string, streamId: string, providerId: string|null, model: string|null,
 *   systemPrompt: string, thinkingBudget: number|null, sampling: import('../types/ipc').Sampling,
 *   send: SendKind, attachments?: string[], toolsOff?: string[]|null}} SendRequest
 */

/**
 * Records a turn in the stored conversation and starts streaming its answer.
 * Its channel carries `StreamMessage`s: render operations, then one end.
 * @param {SendRequest} req
 * @param {(msg: StreamMessage) => void} onMessage called in order for every message
 * @returns {Promise<Sent>}
 */
export function sendMessage(req, onMessage) {
  /** @type {{onmessage: (msg: StreamMessage) => void}} */
  const channel = new (tauri().Channel)();
  channel.onmessage = onMessage;
  return call('send_message', {
    conversationId: req.conversationId,
    streamId: req.streamId,
    providerId: req.providerId,
    model: req.model,
    systemPrompt: req.systemPrompt,
    thinkingBudget: req.thinkingBudget,
    sampling: req.sampling,
    send: req.send,
    attachments: req.attachments ?? [],
    toolsOff: req.toolsOff ?? null,
    onEvent: channel,
  });
}

/**
 * Picks files in a dialog (several at once) and prepares them for the next
 * message; files that cannot go come back in `refused`, each with why.
 * @returns {Promise<Attached>}
 */
export function attachFiles() {
  return call('attach_files', {});
}

/**
 * Prepares a dropped or pasted file from its bytes.
 * @param {string} name
 * @param {Uint8Array} bytes
 * @returns {Promise<Attached>}
 */
export function attachBytes(name, bytes) {
  return call('attach_bytes', bytes, { headers: { 'x-file-name': encodeURIComponent(name) } });
}

/**
 * Drops a prepared file that will not be sent after all.
 * @param {string} id
 * @returns {Promise<void>}
 */
export function unstageAttachment(id) {
  return call('unstage_attachment', { id });
}

/**
 * Stages a sent message's files again, for its edit.
 * @param {string} messageId
 * @returns {Promise<Attached>}
 */
export function stageMessageFiles(messageId) {
  return call('stage_message_files', { messageId });
}

/**
 * A small picture of an image: a waiting file's id or a stored file's key.
 * @param {string} id
 * @returns {Promise<string>} a `data:` URL made by the backend
 */
export function attachmentThumbnail(id) {
  return call('attachment_thumbnail', { id });
}

/**
 * Sends one prompt to 2-4 provider/model pairs at once: the turn is stored
 * once, each answer as a version of it. The channel carries each column's
 * `StreamMessage`s, tagged with its column.
 * @param {{conversationId: string, targets: CompareTarget[], systemPrompt: string,
 *   sampling: import('../types/ipc').Sampling|null, text: string, attachments: string[]}} req
 * @param {(msg: CompareMessage) => void} onMessage
 * @returns {Promise<CompareSent>}
 */
export function compareMessage(req, onMessage) {
  /** @type {{onmessage: (msg: CompareMessage) => void}} */
  const channel = new (tauri().Channel)();
  channel.onmessage = onMessage;
  return call('compare_message', { ...req, onEvent: channel });
}

/** @returns {Promise<StoreProblem|null>} why the conversation database is unavailable */
export function storeProblem() {
  return call('store_problem');
}

/** @returns {Promise<BackupInfo[]>} newest first */
export function listBackups() {
  return call('list_backups');
}

/** @returns {Promise<BackupInfo>} the backup just made */
export function createBackup() {
  return call('create_backup');
}

/** @param {string} id @returns {Promise<BackupInfo>} the backup of the database it replaced */
export function restoreBackup(id) {
  return call('restore_backup', { id });
}

/** @returns {Promise<string|null>} what the database check at start found (null: sound) */
export function storeHealth() {
  return call('store_health');
}

/** @returns {Promise<string>} where the unusable database was moved */
export function resetStore() {
  return call('reset_store');
}

/**
 * @param {Cursor|null} cursor
 * @param {number} limit
 * @param {{provider: string|null, model: string|null}} [by] only conversations answered by these
 * @returns {Promise<ConversationSummary[]>}
 */
export function listConversations(cursor, limit, by = { provider: null, model: null }) {
  return call('list_conversations', { cursor, limit, provider: by.provider, model: by.model });
}

/** @returns {Promise<import('../types/ipc').Answerers>} every provider and model that answered */
export function listAnswerers() {
  return call('list_answerers');
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

/**
 * @param {string} query
 * @param {SearchFilter|null} filter
 * @returns {Promise<SearchHit[]>}
 */
export function searchConversations(query, filter) {
  return call('search_conversations', { query, filter });
}

/** @param {string} messageId @returns {Promise<void>} */
export function activateVersion(messageId) {
  return call('activate_version', { messageId });
}

/** @param {string} id @param {ExportFormat} format @returns {Promise<string|null>} the path written */
export function exportConversation(id, format) {
  return call('export_conversation', { id, format });
}

/** @param {string} id an answer's message id @returns {Promise<TraceView>} */
export function messageTrace(id) {
  return call('message_trace', { id });
}

/** @param {string} id @param {TraceFormat} format @returns {Promise<string|null>} the path written */
export function exportTrace(id, format) {
  return call('export_trace', { id, format });
}

/** @param {number|null} sinceMs @param {number} utcOffsetMinutes @returns {Promise<UsageReport>} */
export function usageReport(sinceMs, utcOffsetMinutes) {
  return call('usage_report', { sinceMs, utcOffsetMinutes });
}

/** @returns {Promise<PriceEntry[]>} */
export function priceList() {
  return call('price_list');
}

/** @param {string} model @param {Price} price */
export function setPrice(model, price) {
  return call('set_price', { model, price });
}

/** @param {string} model */
export function removePrice(model) {
  return call('remove_price', { model });
}

/** @param {TraceSettings} trace */
export function setTrace(trace) {
  return call('set_trace', { trace });
}

/** @returns {Promise<import('../types/ipc').ImportReport|null>} what was imported (null: no file chosen) */
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

/** @returns {Promise<ViewReply>} the view as the user left it (sidebar, open chat, drafts) */
export function getView() {
  return call('get_view');
}

/** @param {ViewPatch} view @returns {Promise<void>} */
export function setView(view) {
  return call('set_view', { view });
}

/**
 * Keeps a conversation's unsent draft (`''`: the new chat's); empty text forgets it.
 * @param {string} conversationId
 * @param {string} text
 * @returns {Promise<void>}
 */
export function setDraft(conversationId, text) {
  return call('set_draft', { conversationId, text });
}

/** @typedef {import('../types/ipc').LocalModelsView} LocalModelsView */
/** @typedef {import('../types/ipc').InstalledModel} InstalledModel */
/** @typedef {import('../types/ipc').PullMessage} PullMessage */

/** @returns {Promise<LocalModelsView>} the installed local models and the catalog */
export function localModels() {
  return call('local_models');
}

/**
 * Downloads a catalog model; `cancelStream(streamId)` stops it (the part
 * stays and a later download resumes it).
 * @param {string} streamId
 * @param {string} modelId
 * @param {(msg: PullMessage) => void} onProgress
 * @returns {Promise<InstalledModel>}
 */
export function pullModel(streamId, modelId, onProgress) {
  /** @type {{onmessage: (msg: PullMessage) => void}} */
  const channel = new (tauri().Channel)();
  channel.onmessage = onProgress;
  return call('pull_model', { streamId, modelId, onProgress: channel });
}

/** @param {string} modelId @returns {Promise<void>} */
export function removeModel(modelId) {
  return call('remove_model', { modelId });
}

/**
 * Imports a `.gguf` file picked in a file dialog (validated and copied into
 * the models folder); null when the dialog was closed.
 * @returns {Promise<InstalledModel|null>}
 */
export function importModel() {
  return call('import_model', {});
}

/** @param {import('../types/ipc').LocalSettings} local threads and idle time of local models @returns {Promise<void>} */
export function setLocal(local) {
  return call('set_local', { local });
}

/** @typedef {import('../types/ipc').ToolDecision} ToolDecision */
/** @typedef {import('../types/ipc').ToolSettings} ToolSettings */
/** @typedef {import('../types/ipc').McpServerStatus} McpServerStatus */
/** @typedef {import('../types/ipc').McpServerInput} McpServerInput */
/** @typedef {import('../types/ipc').McpServer} McpServer */
/** @typedef {import('../types/ipc').ConversationTools} ConversationTools */

/**
 * Answers a tool call waiting for the user.
 * @param {string} streamId @param {string} callId @param {ToolDecision} decision
 * @returns {Promise<void>}
 */
export function decideTool(streamId, callId, decision) {
  return call('decide_tool', { streamId, callId, decision });
}

/**
 * The tool settings and every MCP server (with `probe`, each enabled one is
 * started to list its tools).
 * @param {boolean} probe @returns {Promise<[ToolSettings, McpServerStatus[]]>}
 */
export function mcpServers(probe) {
  return call('mcp_servers', { probe });
}

/** @param {McpServerInput} input @returns {Promise<McpServer>} */
export function addMcpServer(input) {
  return call('add_mcp_server', { input });
}

/** @param {string} name @returns {Promise<void>} */
export function removeMcpServer(name) {
  return call('remove_mcp_server', { name });
}

/** @param {string} name @param {boolean} enabled @returns {Promise<void>} */
export function setMcpEnabled(name, enabled) {
  return call('set_mcp_enabled', { name, enabled });
}

/** @param {string} server @param {string} tool @param {boolean} trusted @returns {Promise<void>} */
export function setToolTrusted(server, tool, trusted) {
  return call('set_tool_trusted', { server, tool, trusted });
}

/** @param {number} stepLimit @param {number} callTimeoutSecs @returns {Promise<void>} */
export function setToolLimits(stepLimit, callTimeoutSecs) {
  return call('set_tool_limits', { stepLimit, callTimeoutSecs });
}

/** @param {string} conversationId @returns {Promise<ConversationTools>} */
export function conversationTools(conversationId) {
  return call('conversation_tools', { conversationId });
}

/** @param {string} conversationId @param {string[]} off @returns {Promise<void>} */
export function setConversationToolsOff(conversationId, off) {
  return call('set_conversation_tools_off', { conversationId, off });
}
