// @ts-check
/**
 * Highlighted code far from the view is parked: its coloured spans leave the
 * page and its text stays. WebKit's work in every frame grows with the
 * elements of the highlighting anywhere in the page, even in blocks that
 * content-visibility skips (a 100,000-token answer that is mostly code:
 * the mean frame grew from 16 to 86 ms over the answer; with the blocks far
 * from the view parked, from 16 to 19 ms; BENCHMARKS.md). A parked block
 * gets its spans back as it comes within PARK_MARGIN_PX of the view, or,
 * where content-visibility still skips it there, once it is drawn (which is
 * before it is in view). Its text never leaves: find, selection, Copy and
 * screen readers read the same code.
 *
 * The spans are moved, not serialized: a block comes back exactly as the
 * backend's sanitized HTML made it, with no second parse.
 */
import { $ } from './dom.js';

/** How far outside the message list's view a code block keeps its highlighting. */
const PARK_MARGIN_PX = 2000;

/** @type {WeakMap<Element, DocumentFragment>} the spans of each parked block's code element */
const parked = new WeakMap();

/** @type {WeakMap<Element, IntersectionObserver>} the observer of each message list (there is one) */
const observers = new WeakMap();

/**
 * @param {Element} code
 * @param {boolean} near
 */
function update(code, near) {
  const spans = parked.get(code);
  if (near) {
    if (!spans) return;
    parked.delete(code);
    code.replaceChildren(spans);
    return;
  }
  // Only a block in the list is far from its view (one elsewhere in the
  // page is left alone).
  if (spans || code.childElementCount === 0 || !$('messages').contains(code)) return;
  // A selection inside keeps its nodes.
  if (document.getSelection()?.containsNode(code, true)) return;
  const text = code.textContent ?? '';
  const frag = document.createDocumentFragment();
  frag.append(...code.childNodes);
  parked.set(code, frag);
  code.textContent = text;
}

/**
 * Whether an observed block is near the view. A block whose answer part
 * content-visibility skips has no size and is never "intersecting": its
 * place decides (a skipped block in view keeps its highlighting; it is drawn
 * once it is no longer skipped, and then it is intersecting).
 * @param {IntersectionObserverEntry} entry
 */
function isNear(entry) {
  if (entry.isIntersecting) return true;
  const box = entry.boundingClientRect;
  const view = entry.rootBounds;
  return box.height === 0 && view !== null && box.top <= view.bottom && box.top >= view.top;
}

/**
 * Parks `pre`'s highlighting whenever it is far from the message list's
 * view. (Observing each block, not its group of blocks: a group is far
 * taller than the margin, so most of the highlighting would stay.)
 * @param {Element} pre a completed code block (placed or not yet: the
 *   observer first looks at it in the next frame)
 */
export function parkWhenFar(pre) {
  if (!pre.querySelector('code > *')) return;
  // The message list, the scroller whose view counts.
  const root = $('messages');
  let observer = observers.get(root);
  if (!observer) {
    observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const code = entry.target.querySelector('code');
        if (code) update(code, isNear(entry));
      }
    }, { root, rootMargin: `${PARK_MARGIN_PX}px 0px` });
    observers.set(root, observer);
  }
  observer.observe(pre);
}
