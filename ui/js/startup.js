// @ts-check
/**
 * Start-up order: the sidebar is listed at once (it does not wait for the
 * provider state, which asks the keychain about every provider), then the
 * provider state, the view as the user left it (sidebar, open chat, draft),
 * and, once the sidebar is shown, the database's health; then
 * `body[data-ready]`, which automation waits for.
 */

/**
 * @param {{focusComposer: () => void, refreshList: () => Promise<void>, refreshState: () => Promise<unknown>,
 *   checkStore: () => Promise<void>, onSidebarShown: () => void, restoreView: () => Promise<void>}} steps
 */
export async function start({ focusComposer, refreshList, refreshState, checkStore, onSidebarShown, restoreView }) {
  focusComposer();
  const sidebarShown = refreshList().then(onSidebarShown);
  const viewRestored = restoreView();
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
