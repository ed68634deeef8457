// @ts-check
/**
 * The window's state: one object (`state.data`) holding everything the modules
 * share, written only through `set` / `update`, which tell the subscribers of
 * that key. No DOM, no IPC (tested with `node --test`).
 *
 * Streaming tokens never pass through here: a stream's apply loop writes its
 * message's DOM directly, and only the stream's start and end change `active`.
 * Views keep their own DOM handles and timers; what more than one module reads
 * or writes lives here.
 */
import { newId } from './format.js';

/** @typedef {import('../types/ipc').UiState} UiState */
/** @typedef {import('../types/ipc').Cursor} Cursor */
/** @typedef {import('../types/ipc').Cost} Cost */

/**
 * The provider and model of the open conversation. `explicit`: the user or the
 * stored conversation picked the provider (else an empty chat follows the default).
 * @typedef {Readonly<{providerId: string|null, model: string, explicit: boolean}>} Choice
 */
/**
 * The open conversation: its id, whether it is stored (has a message), and
 * its title ('' until it has one), and what its answers cost at today's
 * prices (null while none has a known price).
 * `origin`: the app it was imported from (`chatgpt`...), null when it was not.
 * @typedef {Readonly<{id: string, stored: boolean, title: string, cost: Cost|null, origin: string|null}>} OpenConversation
 */
/**
 * Paging of the open conversation: oldest loaded seq, whether older messages exist.
 * @typedef {Readonly<{oldestSeq: number|null, hasMore: boolean, loading: boolean}>} Paging
 */
/**
 * Sidebar paging; `gen` drops the results of a load that a refresh superseded.
 * @typedef {Readonly<{cursor: Cursor|null, done: boolean, loading: boolean, gen: number}>} SidebarPaging
 */
/**
 * The stream answering in the open conversation (compared by identity).
 * `others`: the other columns of a comparison (Stop stops them all).
 * @typedef {Readonly<{streamId: string, others?: string[]}>} ActiveStream
 */

/**
 * @typedef {object} AppData
 * @property {UiState|null} ui providers (never keys), theme, onboarding: `get_state`
 * @property {Choice} choice
 * @property {OpenConversation} conversation
 * @property {number} openGen bumped on every open and new chat: a slower earlier open never overwrites a later one
 * @property {number} uiGen bumped on every `get_state` request and every local change of `ui`:
 *   a slower earlier `get_state` never undoes a later change (a theme just picked)
 * @property {Paging} paging
 * @property {ActiveStream|null} active
 * @property {boolean} editing a user message is being edited (the composer's text replaces it)
 * @property {SidebarPaging} sidebar
 */
/** @typedef {keyof AppData} StateKey */

/**
 * @template {StateKey} K
 * @typedef {(value: AppData[K], previous: AppData[K]) => void} Listener
 */

/** The initial state: a new, empty conversation; nothing loaded yet. */
export function initialData() {
  /** @type {AppData} */
  const data = {
    ui: null,
    choice: { providerId: null, model: '', explicit: false },
    conversation: { id: newId(), stored: false, title: '', cost: null, origin: null },
    openGen: 0,
    uiGen: 0,
    paging: { oldestSeq: null, hasMore: false, loading: false },
    active: null,
    editing: false,
    sidebar: { cursor: null, done: false, loading: false, gen: 0 },
  };
  return data;
}

export class AppState {
  /** @param {AppData} [data] */
  constructor(data = initialData()) {
    /** All of the window's shared state. Read freely; write with `set` / `update`. @type {Readonly<AppData>} */
    this.data = data;
    /** @type {Map<StateKey, Set<Listener<any>>>} */
    this.listeners = new Map();
  }

  /**
   * Replaces one key's value; its subscribers hear of it when it changed.
   * @template {StateKey} K
   * @param {K} key
   * @param {AppData[K]} value
   * @returns {boolean} whether it changed
   */
  set(key, value) {
    const data = /** @type {AppData} */ (this.data);
    const previous = data[key];
    if (Object.is(previous, value)) return false;
    data[key] = value;
    const set = this.listeners.get(key);
    if (set) {
      for (const f of set) {
        try {
          f(value, previous);
        } catch (e) {
          // One failing subscriber must not stop the others or the writer.
          console.error(e);
        }
      }
    }
    return true;
  }

  /**
   * Changes some fields of an object-valued key (a new object, so a change is
   * seen by identity); nothing happens when every field already has its value.
   * @template {'choice'|'conversation'|'paging'|'sidebar'} K
   * @param {K} key
   * @param {Partial<AppData[K]>} patch
   * @returns {boolean} whether it changed
   */
  update(key, patch) {
    const previous = this.data[key];
    let changed = false;
    for (const k of Object.keys(patch)) {
      if (!Object.is(/** @type {any} */ (previous)[k], /** @type {any} */ (patch)[k])) changed = true;
    }
    if (!changed) return false;
    return this.set(key, /** @type {AppData[K]} */ ({ ...previous, ...patch }));
  }

  /**
   * Starts a `get_state` load: pass the returned token to `finishUiLoad`.
   * @returns {number}
   */
  beginUiLoad() {
    const gen = this.data.uiGen + 1;
    this.set('uiGen', gen);
    return gen;
  }

  /**
   * Stores a loaded `ui` unless a later load or local change superseded it
   * (that one's result, or the change, is the newer truth).
   * @param {number} token from `beginUiLoad`
   * @param {UiState} ui
   * @returns {boolean} whether it was stored
   */
  finishUiLoad(token, ui) {
    if (token !== this.data.uiGen) return false;
    this.set('ui', ui);
    return true;
  }

  /**
   * Changes some fields of `ui` here at once (what the user just chose), ahead
   * of the backend's confirmation; loads begun before it are dropped.
   * @param {Partial<UiState>} patch
   */
  changeUi(patch) {
    this.set('uiGen', this.data.uiGen + 1);
    const ui = this.data.ui;
    if (ui) this.set('ui', { ...ui, ...patch });
  }

  /**
   * Calls `f(value, previous)` after every change of `key`.
   * @template {StateKey} K
   * @param {K} key
   * @param {Listener<K>} f
   * @returns {() => void} unsubscribes
   */
  on(key, f) {
    let set = this.listeners.get(key);
    if (!set) {
      set = new Set();
      this.listeners.set(key, set);
    }
    set.add(f);
    return () => {
      set.delete(f);
    };
  }
}

/** The window's one state object. @param {AppData} [data] */
export function createAppState(data) {
  return new AppState(data);
}
