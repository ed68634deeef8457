// @ts-check
/**
 * DOM helpers of the views. Text from users and models enters the page only as
 * text (textContent, text nodes, string children of `el`) or as HTML that the
 * backend rendered and sanitized (ammonia): `setSanitizedHtml` is the page's
 * one innerHTML sink, and it takes only the `html` fields the backend sends.
 */

import { ICONS } from './icons.js';

/**
 * The element with this id (the page's static elements always exist).
 * @param {string} id
 * @returns {HTMLElement}
 */
export function $(id) {
  return /** @type {HTMLElement} */ (document.getElementById(id));
}

/** @typedef {string | Node} Child */

/**
 * Creates an element. Attributes are set as attributes; string children
 * become text, never markup.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string>} [attrs]
 * @param {Child | Child[] | null} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (typeof children === 'string') node.textContent = children;
  else if (Array.isArray(children)) node.append(...children);
  else if (children != null) node.append(children);
  return node;
}

/**
 * An empty (or given) text node, to grow with `appendData`.
 * @param {string} [text]
 */
export function textNode(text = '') {
  return document.createTextNode(text);
}

/**
 * Replaces the content of `node` with `text`, as text.
 * @param {Node} node
 * @param {string} text
 */
export function setText(node, text) {
  node.textContent = text;
}

/**
 * Replaces the content of `node` with HTML that the backend rendered and
 * sanitized (a `html` field of a render operation or a stored message).
 * Nothing else may come through here: never user or model text.
 * @param {Element} node
 * @param {string} html
 */
export function setSanitizedHtml(node, html) {
  node.innerHTML = html;
}

/**
 * Appends HTML the backend rendered (highlighted code lines) at the end of
 * `node`: the page's other HTML sink, with the same rule.
 * @param {Element} node
 * @param {string} html
 */
export function appendSanitizedHtml(node, html) {
  node.insertAdjacentHTML('beforeend', html);
}

/**
 * True when a scroller is (nearly) at its bottom.
 * @param {HTMLElement} scroller
 */
export function nearBottom(scroller) {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
}

/** @param {HTMLElement} scroller */
export function scrollToBottom(scroller) {
  scroller.scrollTop = scroller.scrollHeight;
}

/**
 * Copies text to the clipboard, with a fallback for webviews without the async API.
 * @param {string} text
 */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    const ta = el('textarea');
    ta.value = text;
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.append(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
}

const SVG = 'http://www.w3.org/2000/svg';

/** @typedef {keyof typeof ICONS} IconName */

/**
 * An icon (icons.js, Lucide), hidden from screen readers: the button or link
 * it sits in carries the accessible name. A plain inline <svg> of a few
 * shapes: no <use>, so no shadow tree and no second document to load.
 * @param {IconName} name
 * @param {string} [extra] more classes (`small`, `big`)
 */
export function icon(name, extra = '') {
  const svg = /** @type {SVGSVGElement} */ (document.createElementNS(SVG, 'svg'));
  svg.setAttribute('class', `i ${extra}`.trim());
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  for (const [tag, attrs] of ICONS[name]) {
    const shape = document.createElementNS(SVG, /** @type {string} */ (tag));
    for (const [k, v] of Object.entries(attrs)) shape.setAttribute(k, String(v));
    svg.append(shape);
  }
  return svg;
}

/**
 * Draws the page's static icons: each empty `<svg data-icon="name">` in
 * index.html gets that icon's shapes (its other attributes are kept).
 * @param {ParentNode} [root]
 */
export function drawIcons(root = document) {
  for (const slot of root.querySelectorAll('svg[data-icon]')) {
    const name = /** @type {IconName} */ (slot.getAttribute('data-icon'));
    if (!(name in ICONS)) throw new Error(`no icon named ${name}`);
    if (slot.childElementCount) continue;
    slot.setAttribute('viewBox', '0 0 24 24');
    slot.append(...icon(name).childNodes);
  }
}

/**
 * Applies the theme to the page (`system`: the system's light or dark).
 * @param {import('../types/ipc').Theme} theme
 */
export function applyTheme(theme) {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

/**
 * An icon button: the label is its accessible name and its tooltip. A
 * `lazy` one gets an empty `<svg data-icon>` that `drawIcons` fills later
 * (buttons repeated down a long list, hidden until hovered or focused: their
 * shapes were half the sidebar's elements).
 * @param {IconName} name icon
 * @param {string} label
 * @param {Record<string, string>} [attrs]
 * @param {boolean} [lazy]
 */
export function iconButton(name, label, attrs = {}, lazy = false) {
  const b = el('button', { type: 'button', class: 'icon-btn', title: label, 'aria-label': label, ...attrs });
  if (lazy) {
    const slot = document.createElementNS(SVG, 'svg');
    slot.setAttribute('class', 'i');
    slot.setAttribute('aria-hidden', 'true');
    slot.setAttribute('data-icon', name);
    b.append(slot);
  } else {
    b.append(icon(name));
  }
  return b;
}

/**
 * A popover or menu opened by `trigger`: click toggles it; Esc or a click
 * outside (another popover's trigger too) closes it; Esc gives the focus back to the
 * trigger; `aria-expanded` follows. A menu's items are reached with the
 * arrow keys.
 * @param {HTMLElement} trigger
 * @param {HTMLElement} panel
 * @param {{onOpen?: () => void, focus?: HTMLElement, menu?: boolean}} [opts]
 */
export function popover(trigger, panel, opts = {}) {
  const items = () => /** @type {HTMLElement[]} */ ([...panel.querySelectorAll('[role=menuitem]:not([hidden])')]);
  /** @param {boolean} restore */
  function close(restore) {
    if (panel.hidden) return;
    panel.hidden = true;
    trigger.setAttribute('aria-expanded', 'false');
    if (restore) trigger.focus();
  }
  function open() {
    panel.hidden = false;
    trigger.setAttribute('aria-expanded', 'true');
    opts.onOpen?.();
    (opts.focus ?? items()[0])?.focus();
  }
  trigger.addEventListener('click', () => (panel.hidden ? open() : close(true)));
  panel.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      ev.preventDefault();
      ev.stopPropagation();
      close(true);
    } else if (opts.menu && (ev.key === 'ArrowDown' || ev.key === 'ArrowUp')) {
      ev.preventDefault();
      const all = items();
      const at = all.indexOf(/** @type {HTMLElement} */ (document.activeElement));
      const next = (at + (ev.key === 'ArrowDown' ? 1 : -1) + all.length) % all.length;
      all[next]?.focus();
    } else if (ev.key === 'Tab' && opts.menu) {
      close(false);
    }
  });
  if (opts.menu) {
    panel.addEventListener('click', (ev) => {
      if (/** @type {Element} */ (ev.target).closest('[role=menuitem]')) close(true);
    });
  }
  // A click outside (another popover's trigger included) closes it; its own trigger toggles it.
  document.addEventListener('mousedown', (ev) => {
    const target = /** @type {Node} */ (ev.target);
    if (!panel.hidden && !panel.contains(target) && !trigger.contains(target)) close(false);
  });
  return {
    open,
    /** Closes it; with `restore`, the focus goes back to its trigger. @param {boolean} [restore] */
    close: (restore = false) => close(restore),
    isOpen: () => !panel.hidden,
  };
}

/** Attributes filled from the catalog: `data-i18n-<attr>` holds the key. */
const I18N_ATTRS = ['title', 'placeholder', 'aria-label'];

/**
 * Fills the page's static strings from the catalog: `data-i18n` (the text)
 * and `data-i18n-title` / `-placeholder` / `-aria-label`, and sets `<html lang>`.
 * @param {(key: any) => string} translate
 * @param {string} lang
 * @param {ParentNode} [root]
 */
export function translatePage(translate, lang, root = document) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = translate(node.getAttribute('data-i18n'));
  for (const attr of I18N_ATTRS) {
    for (const node of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      node.setAttribute(attr, translate(node.getAttribute(`data-i18n-${attr}`)));
    }
  }
  document.documentElement.lang = lang;
}
