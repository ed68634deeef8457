// @ts-check
/**
 * DOM helpers of the views. Text from users and models enters the page only as
 * text (textContent, text nodes, string children of `el`) or as HTML that the
 * backend rendered and sanitized (ammonia): `setSanitizedHtml` is the page's
 * one innerHTML sink, and it takes only the `html` fields the backend sends.
 */

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
