// @ts-check
/**
 * The window's wiring: creates its modules around the one state object
 * (state.js) and connects them. Nothing else happens here.
 *
 * - banners.js: toast (Undo) and errors; the database banner
 * - composer.js: the message field and edit mode
 * - pickers.js: provider and model of the conversation; the provider state
 * - conversation-view.js: the message list, Send / Stop / New chat, streams
 *   (answer-stream.js applies them, message-view.js draws a message)
 * - sidebar.js, search.js, transfer.js: stored conversations
 * - settings-view.js: the settings dialog; onboarding.js: first run, and the
 *   banners about the settings file and the environment
 * - shortcuts.js: window-wide keys; startup.js: start-up order
 * - page-metrics.js: the window benchmark's measurement, from the side
 */
import { createAppState } from './state.js';
import { createNotices, createStoreBanner } from './banners.js';
import { createComposer } from './composer.js';
import { createPickers } from './pickers.js';
import { createConversationView } from './conversation-view.js';
import { createSidebar } from './sidebar.js';
import { createSearch } from './search.js';
import { initTransfer } from './transfer.js';
import { createSettingsView } from './settings-view.js';
import { createOnboarding } from './onboarding.js';
import { installShortcuts } from './shortcuts.js';
import { installPageMetrics, markSidebarPainted } from './page-metrics.js';
import { start } from './startup.js';

const state = createAppState();
const notices = createNotices();
const composer = createComposer({ state, onSend: () => conversation.send() });
const pickers = createPickers({ state, conversationIsEmpty: () => conversation.isEmpty() });
const conversation = createConversationView({
  state, composer, pickers, notices, refreshList: () => sidebar.refresh(),
});
const sidebar = createSidebar({ state, notices, open: conversation.open, newChat: conversation.newChat });
const search = createSearch({ notices, open: conversation.open, showList: sidebar.showList });
const storeBanner = createStoreBanner({ notices, refreshList: sidebar.refresh });
initTransfer({ state, notices, refreshList: sidebar.refresh, open: conversation.open });
const settings = createSettingsView({ state, refresh: pickers.refresh });
createOnboarding({
  state, refresh: pickers.refresh, onProviderChosen: pickers.pick, openNewProvider: settings.openNew,
});
installShortcuts({
  state,
  cancel: conversation.cancel,
  newChat: conversation.newChat,
  focusSearch: search.focus,
  deleteOpen: sidebar.removeOpen,
});
installPageMetrics(state, conversation);

start({
  focusComposer: composer.focus,
  refreshList: sidebar.refresh,
  refreshState: pickers.refresh,
  checkStore: storeBanner.check,
  onSidebarShown: markSidebarPainted,
});
