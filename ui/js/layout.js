// @ts-check
/**
 * The sidebar's layout: collapsed or shown (Ctrl+B, the buttons in the
 * sidebar and the header) and its width (drag the edge, or focus it and use
 * the arrow keys). Both are kept for the next start in the window's state
 * (whereabouts.js): `apply` sets them, `onChange` hears each change.
 */
import { clampSidebarWidth, SIDEBAR_WIDTH } from './format.js';
import { $ } from './dom.js';

/** Pixels one arrow key press moves the sidebar's edge. */
const KEY_STEP = 16;

/** @typedef {{collapsed: boolean, width: number}} Layout */

/** @param {{onChange: (layout: Layout) => void}} deps */
export function createLayout({ onChange }) {
  const sidebar = $('sidebar');
  const resizer = $('sidebar-resizer');
  const collapseBtn = $('sidebar-toggle');
  const expandBtn = $('sidebar-expand');
  /** @type {Layout} */
  let layout = { collapsed: false, width: SIDEBAR_WIDTH.default };

  function save() {
    onChange(layout);
  }

  function render() {
    sidebar.hidden = layout.collapsed;
    expandBtn.hidden = !layout.collapsed;
    collapseBtn.setAttribute('aria-expanded', String(!layout.collapsed));
    expandBtn.setAttribute('aria-expanded', String(!layout.collapsed));
    sidebar.style.width = `${layout.width}px`;
    resizer.setAttribute('aria-valuenow', String(layout.width));
  }

  /** @param {boolean} collapsed */
  function setCollapsed(collapsed) {
    const hadFocus = sidebar.contains(document.activeElement) || document.activeElement === expandBtn;
    layout = { ...layout, collapsed };
    render();
    save();
    // The focus follows the button that now does the job.
    if (hadFocus) (collapsed ? expandBtn : collapseBtn).focus();
  }

  /** @param {number} width */
  function setWidth(width) {
    layout = { ...layout, width: clampSidebarWidth(width) };
    render();
  }

  collapseBtn.addEventListener('click', () => setCollapsed(true));
  expandBtn.addEventListener('click', () => setCollapsed(false));
  resizer.addEventListener('pointerdown', (ev) => {
    ev.preventDefault();
    resizer.setPointerCapture(ev.pointerId);
    const left = sidebar.getBoundingClientRect().left;
    /** @param {PointerEvent} move */
    const onMove = (move) => setWidth(move.clientX - left);
    const onUp = () => {
      resizer.removeEventListener('pointermove', onMove);
      resizer.removeEventListener('pointerup', onUp);
      save();
    };
    resizer.addEventListener('pointermove', onMove);
    resizer.addEventListener('pointerup', onUp);
  });
  resizer.addEventListener('keydown', (ev) => {
    const step = ev.key === 'ArrowLeft' ? -KEY_STEP : ev.key === 'ArrowRight' ? KEY_STEP : 0;
    if (!step) return;
    ev.preventDefault();
    setWidth(layout.width + step);
    save();
  });
  render();

  return {
    /** Ctrl+B. */
    toggle: () => setCollapsed(!layout.collapsed),
    /**
     * Shows a kept layout (at start).
     * @param {{collapsed: boolean, width: number|null}} kept
     */
    apply(kept) {
      layout = { collapsed: kept.collapsed, width: clampSidebarWidth(kept.width ?? SIDEBAR_WIDTH.default) };
      render();
    },
    /** The layout now. */
    current: () => layout,
  };
}
