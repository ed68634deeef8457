// @ts-check
/**
 * The window's wiring: creates its modules around the one state object
 * (state.js) and connects them. Nothing else happens here.
 *
 * - locale.js: the window's language (i18n.js, catalog.js: every UI string)
 * - layout.js: the sidebar shown or collapsed, and its width
 * - header.js: the title (rename) and the "⋯" menu
 * - banners.js: toast (Undo) and errors; the database banner
 * - dialogs.js: confirmations and a line of text (rename), in the page
 * - composer.js: the message field and edit mode; attachments.js: the files
 *   going with the next message (paperclip, drop, paste)
 * - whereabouts.js: where the user was (sidebar, open chat, drafts) across starts
 * - pickers.js: provider and model of the conversation; the provider state
 * - conversation-view.js: the message list, Send / Stop / New chat, streams
 *   (answer-stream.js applies them, message-view.js draws a message)
 * - sidebar.js, search.js, transfer.js: stored conversations
 * - prompts.js: named system prompts offered in the system prompt box
 * - settings.js: the theme, and the settings dialog, built when first opened
 *   (settings-view.js, settings-network.js, settings-prompts.js)
 * - onboarding.js: first run, and the banners about the settings file and
 *   the environment
 * - shortcuts.js: window-wide keys; startup.js: start-up order
 * - page-metrics.js: the window benchmark's measurement, from the side
 */
import { createAppState } from './state.js';
import { createLocale } from './locale.js';
import { createLayout } from './layout.js';
import { createHeader } from './header.js';
import { createNotices, createStoreBanner } from './banners.js';
import { createDialogs } from './dialogs.js';
import { createComposer } from './composer.js';
import { createWhereabouts } from './whereabouts.js';
import { createPickers } from './pickers.js';
import { createConversationView } from './conversation-view.js';
import { createAttachments } from './attachments.js';
import { createToolApproval } from './tool-approval.js';
import { createConversationTools } from './conversation-tools.js';
import { createCompare } from './compare.js';
import { createSidebar } from './sidebar.js';
import { createSearch } from './search.js';
import { initTransfer } from './transfer.js';
import { createSettings } from './settings.js';
import { createPrompts } from './prompts.js';
import { createOnboarding } from './onboarding.js';
import { installShortcuts } from './shortcuts.js';
import { installPageMetrics, markSidebarPainted } from './page-metrics.js';
import { start } from './startup.js';
import { drawIcons } from './dom.js';

drawIcons();
const state = createAppState();
const locale = createLocale({
  state,
  rerender: () => {
    pickers.render();
    header.render();
    sidebar.refresh();
    settings.render();
    prompts.render();
    onboarding.render();
    compare.render();
    conversation.reopen();
  },
});
const layout = createLayout({ onChange: (l) => whereabouts.layoutChanged(l) });
const notices = createNotices();
const dialogs = createDialogs();
const composer = createComposer({ state, onSend: () => conversation.send() });
const pickers = createPickers({ state, conversationIsEmpty: () => conversation.isEmpty() });
const attachments = createAttachments({
  notices, composer: /** @type {HTMLTextAreaElement} */ (document.getElementById('composer')),
});
const toolApproval = createToolApproval();
const conversation = createConversationView({
  state, composer, pickers, notices, attachments, toolApproval, refreshList: () => sidebar.refresh(),
});
createConversationTools({ state, setPending: (off) => conversation.setPendingToolsOff(off) });
const compare = createCompare({ state, onCompare: (targets) => conversation.compareSend(targets) });
const whereabouts = createWhereabouts({ state, composer, notices, layout, open: conversation.open });
const sidebar = createSidebar({ state, notices, dialogs, open: conversation.open, newChat: conversation.newChat });
const search = createSearch({
  notices, open: conversation.open, showList: sidebar.showList, providers: () => state.data.ui?.providers ?? [],
});
const header = createHeader({ state, notices, refreshList: () => sidebar.refresh(), deleteOpen: () => sidebar.removeOpen() });
const storeBanner = createStoreBanner({ notices, refreshList: sidebar.refresh, openBackups: () => settings.openBackups() });
initTransfer({ state, notices, refreshList: sidebar.refresh, open: conversation.open });
const settings = createSettings({
  state, dialogs, refresh: pickers.refresh, onLanguage: locale.choose,
  // A restore replaced every conversation: start afresh on the restored list.
  onRestored: () => {
    conversation.newChat();
    sidebar.refresh();
    // The restored database is checked afresh (a damage banner goes if it is sound).
    storeBanner.check();
  },
});
const prompts = createPrompts({ state });
const onboarding = createOnboarding({
  state, refresh: pickers.refresh, onProviderChosen: pickers.pick, openNewProvider: settings.openNew,
});
installShortcuts({
  state,
  cancel: conversation.cancel,
  newChat: conversation.newChat,
  focusSearch: search.focus,
  deleteOpen: sidebar.removeOpen,
  toggleSidebar: layout.toggle,
});
header.render();
installPageMetrics(state, conversation);

start({
  focusComposer: composer.focus,
  refreshList: sidebar.refresh,
  refreshState: pickers.refresh,
  restoreView: whereabouts.restore,
  checkStore: storeBanner.check,
  onSidebarShown: markSidebarPainted,
});
