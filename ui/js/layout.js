// @ts-check
/**
 * The sidebar's layout: collapsed or shown (Ctrl+B, the buttons in the
 * sidebar and the header) and its width (drag the edge, or focus it and use
 * the arrow keys). Both are kept for the next start (window-local storage).
 */
import { clampSidebarWidth, SIDEBAR_WIDTH } from './format.js';
import { $ } from './dom.js';

/** Where the sidebar's layout is kept. */
const LAYOUT_KEY = 'runnel.sidebar';
/** Pixels one arrow key press moves the sidebar's edge. */
const KEY_STEP = 16;

export function createLayout() {
  const sidebar = $('sidebar');
  const resizer = $('sidebar-resizer');
  const collapseBtn = $('sidebar-toggle');
  const expandBtn = $('sidebar-expand');
  let layout = { collapsed: false, width: /** @type {number} */ (SIDEBAR_WIDTH.default) };
  try {
    const saved = JSON.parse(localStorage.getItem(LAYOUT_KEY) ?? 'null');
    if (saved && typeof saved === 'object') {
      layout = { collapsed: saved.collapsed === true, width: clampSidebarWidth(Number(saved.width)) };
    }
  } catch {
    // Nothing saved, or unreadable: the default layout.
  }

  function save() {
    try {
      localStorage.setItem(LAYOUT_KEY, JSON.stringify(layout));
    } catch {
      // The layout is not kept; the window still works.
    }
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
  };
}
