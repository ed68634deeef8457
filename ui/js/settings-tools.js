// @ts-check
/**
 * Settings, "Tools (MCP servers)": every server with its state and tools
 * (each enabled one is started to list them), a switch and Remove for each,
 * "always allowed" per tool; a form to add one (a command line for a stdio
 * server, or an http(s) URL for Streamable HTTP, with K=V lines of
 * environment or headers: values whose names look secret go to the
 * keychain, never to the settings file or back to this page); and the
 * step limit and call timeout. Loaded with the settings dialog.
 */
import * as ipc from './ipc.js';
import { formatError } from './format.js';
import { $, el } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('../types/ipc').McpServerStatus} McpServerStatus */
/** @typedef {import('../types/ipc').ToolSettings} ToolSettings */
/** @typedef {import('../types/ipc').McpServerInput} McpServerInput */

/**
 * Splits a command line into words: spaces separate, quotes (' or ") group,
 * a backslash keeps the next character.
 * @param {string} line
 * @returns {string[]}
 */
export function splitCommandLine(line) {
  /** @type {string[]} */
  const words = [];
  let word = '';
  let quote = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length && quote !== "'") {
      word += line[++i];
      inWord = true;
    } else if (quote) {
      if (c === quote) quote = '';
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * The server to add from the form's fields; a string says what is wrong.
 * @param {string} name
 * @param {string} target a command line, or an http(s) URL
 * @param {string} values K=V lines
 * @returns {McpServerInput|string}
 */
export function serverInput(name, target, values) {
  /** @type {Record<string, string>} */
  const pairs = {};
  for (const raw of values.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return t('mcp.bad_value', { line });
    pairs[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  const base = { name: name.trim(), values: pairs, secret: [], replace: false, cwd: null };
  const trimmed = target.trim();
  if (/^https?:\/\//i.test(trimmed)) return { ...base, url: trimmed, command: null, args: [] };
  const words = splitCommandLine(trimmed);
  if (!words.length) return t('mcp.no_target');
  return { ...base, command: words[0], args: words.slice(1), url: null };
}

/**
 * The form's fields for editing a server: its command line (words with
 * spaces or quotes quoted) or URL, and its values, secret ones left blank
 * (a blank secret keeps the one in the keychain).
 * @param {import('../types/ipc').McpServer} server
 * @returns {{target: string, values: string}}
 */
export function formFields(server) {
  const quote = (/** @type {string} */ w) => (/^[^\s"'\\]+$/.test(w) ? w : `"${w.replace(/(["\\])/g, '\\$1')}"`);
  const tr = server.transport;
  const plain = tr.type === 'stdio' ? tr.env ?? {} : tr.headers ?? {};
  const secret = (tr.type === 'stdio' ? tr.secret_env : tr.secret_headers) ?? [];
  const lines = [...Object.entries(plain).map(([k, v]) => `${k}=${v}`), ...secret.map((k) => `${k}=`)];
  return {
    target: tr.type === 'stdio' ? [tr.command, ...tr.args].map(quote).join(' ') : tr.url,
    values: lines.join('\n'),
  };
}

/** @param {{dialogs: import('./dialogs.js').Dialogs}} host */
export function createToolSettings(host) {
  const list = $('mcp-list');
  const form = /** @type {HTMLFormElement} */ ($('mcp-form'));
  const name = /** @type {HTMLInputElement} */ ($('mcp-name'));
  const target = /** @type {HTMLInputElement} */ ($('mcp-target'));
  const values = /** @type {HTMLTextAreaElement} */ ($('mcp-values'));
  const error = $('mcp-error');
  const stepLimit = /** @type {HTMLInputElement} */ ($('tool-step-limit'));
  const timeout = /** @type {HTMLInputElement} */ ($('tool-timeout'));
  const limitsError = $('tool-limits-error');
  const addButton = $('mcp-add');
  /** @type {McpServerStatus[]|null} */
  let last = null;
  /** The server being edited (its name), or null when adding. @type {string|null} */
  let editing = null;

  /** @param {string|null} name */
  function setEditing(name) {
    editing = name;
    nameReadOnly(name !== null);
    addButton.textContent = t(name ? 'mcp.save' : 'mcp.add');
  }
  /** @param {boolean} on */
  function nameReadOnly(on) {
    name.readOnly = on;
  }

  async function load() {
    list.replaceChildren(el('p', { class: 'hint' }, t('mcp.starting')));
    try {
      const [settings, servers] = await ipc.mcpServers(true);
      stepLimit.value = String(settings.step_limit);
      timeout.value = String(settings.call_timeout_secs);
      last = servers;
      draw(servers);
    } catch (e) {
      error.textContent = formatError(/** @type {any} */ (e));
    }
  }

  /** @param {McpServerStatus} s */
  function stateText(s) {
    if (!s.server.enabled) return t('mcp.disabled');
    if (s.running) return t('mcp.running', { n: s.tools.length });
    return t('mcp.failed', { why: s.error ?? '' });
  }

  /** @param {McpServerStatus[]} servers */
  function draw(servers) {
    if (!servers.length) {
      list.replaceChildren(el('p', { class: 'hint', 'data-testid': 'mcp-empty' }, t('mcp.none')));
      return;
    }
    list.replaceChildren(...servers.map((s) => {
      const tr = s.server.transport;
      const where = tr.type === 'stdio' ? [tr.command, ...tr.args].join(' ') : tr.url;
      const enabled = /** @type {HTMLInputElement} */ (el('input', { type: 'checkbox', 'data-testid': 'mcp-enabled', 'aria-label': t('mcp.enabled', { name: s.server.name }) }));
      enabled.checked = s.server.enabled;
      enabled.addEventListener('change', () => run(() => ipc.setMcpEnabled(s.server.name, enabled.checked)));
      const change = el('button', { type: 'button', 'data-testid': 'mcp-edit' }, t('mcp.edit'));
      change.addEventListener('click', () => {
        const f = formFields(s.server);
        name.value = s.server.name;
        target.value = f.target;
        values.value = f.values;
        setEditing(s.server.name);
        target.focus();
      });
      const remove = el('button', { type: 'button', 'data-testid': 'mcp-remove' }, t('mcp.remove'));
      remove.addEventListener('click', async () => {
        const sure = await host.dialogs.confirm({ title: t('mcp.remove_confirm', { name: s.server.name }), ok: t('mcp.remove'), danger: true });
        if (sure) run(() => ipc.removeMcpServer(s.server.name));
      });
      const tools = s.tools.map((tool) => {
        const always = /** @type {HTMLInputElement} */ (el('input', { type: 'checkbox', 'data-testid': 'mcp-tool-always', 'data-tool': tool.name }));
        always.checked = (s.server.always_allow ?? []).includes(tool.name);
        always.addEventListener('change', () => run(() => ipc.setToolTrusted(s.server.name, tool.name, always.checked), false));
        return el('li', { title: tool.description }, [
          el('span', { class: 'tool-row-name' }, tool.name),
          el('label', { class: 'hint' }, [always, t('mcp.always')]),
        ]);
      });
      return el('div', { class: 'provider-row', 'data-testid': 'mcp-row', 'data-mcp-name': s.server.name, 'data-running': String(s.running) }, [
        el('div', { class: 'title' }, [enabled, ' ', s.server.name]),
        el('div', { class: 'actions' }, [change, remove]),
        el('div', { class: 'meta', 'data-testid': 'mcp-state' }, `${stateText(s)} · ${where}`),
        tools.length ? el('ul', { class: 'mcp-tools' }, tools) : '',
      ]);
    }));
  }

  /**
   * Runs a change, then lists again (`reload`).
   * @param {() => Promise<unknown>} change
   */
  async function run(change, reload = true) {
    error.textContent = '';
    try {
      await change();
    } catch (e) {
      error.textContent = formatError(/** @type {any} */ (e));
    }
    if (reload) await load();
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = serverInput(name.value, target.value, values.value);
    if (typeof input === 'string') {
      error.textContent = input;
      return;
    }
    await run(async () => {
      await ipc.addMcpServer({ ...input, replace: editing !== null });
      name.value = '';
      target.value = '';
      values.value = '';
      setEditing(null);
    });
  });

  const saveLimits = async () => {
    limitsError.textContent = '';
    try {
      await ipc.setToolLimits(Number(stepLimit.value), Number(timeout.value));
    } catch (e) {
      limitsError.textContent = formatError(/** @type {any} */ (e));
    }
  };
  stepLimit.addEventListener('change', saveLimits);
  timeout.addEventListener('change', saveLimits);

  return {
    /** Lists the servers again (`fresh`), or redraws the last listing in a new language. */
    render(/** @type {boolean} */ fresh) {
      if (fresh) load();
      else if (last) draw(last);
    },
  };
}
