// @ts-check
/**
 * Start-up order: the sidebar is listed at once and the view restored as
 * the user left it (sidebar, open chat, draft); the provider state, which
 * asks the keychain about every provider (on Linux a D-Bus session and a key
 * exchange each, in this process and in the keyring's), once the sidebar's
 * first frame is painted, so that it does not compete with it for the CPU
 * (or after STATE_WAITS_FOR_SIDEBAR_MS at most): that frame needs nothing of
 * it, as its theme and language come before the scripts run (boot.js); then
 * the database's health; then `body[data-ready]`, which automation waits for.
 */

/** The longest the provider state waits for the sidebar's first frame (a slow or locked store). */
export const STATE_WAITS_FOR_SIDEBAR_MS = 1000;

/**
 * @param {{focusComposer: () => void, refreshList: () => Promise<void>, refreshState: () => Promise<unknown>,
 *   checkStore: () => Promise<void>, onSidebarShown: () => Promise<void>, restoreView: () => Promise<void>}} steps
 */
export async function start({ focusComposer, refreshList, refreshState, checkStore, onSidebarShown, restoreView }) {
  focusComposer();
  const sidebarShown = refreshList().then(onSidebarShown);
  const viewRestored = restoreView();
  await Promise.race([
    sidebarShown.catch(() => {}),
    new Promise((resolve) => setTimeout(resolve, STATE_WAITS_FOR_SIDEBAR_MS)),
  ]);
  try {
    await refreshState();
  } catch {
    // The setup banner says what went wrong.
  }
  // The database's health once the sidebar is on screen: its check reads
  // the whole file in the background and would slow the start.
  await sidebarShown.catch(() => {});
  await checkStore();
  await viewRestored;
  // Never steal focus from a field the user is already typing in.
  if (document.activeElement === document.body || document.activeElement === null) focusComposer();
  // Start-up is done (state, sidebar): automation waits for this.
  document.body.dataset.ready = 'true';
}
