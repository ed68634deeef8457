// @ts-check
/**
 * Which kept draft belongs in the composer (pure; whereabouts.js does the
 * rest). A stored conversation's draft is kept under its id; the new chat's
 * (not stored yet, so its id is not kept either) under `''`.
 */

/** The draft key of the new chat. */
export const NEW_CHAT = '';

/**
 * @param {{id: string, stored: boolean}} conversation
 * @returns {string}
 */
export function draftKey(conversation) {
  return conversation.stored ? conversation.id : NEW_CHAT;
}

/**
 * What a change of the shown conversation means for drafts:
 * - `same`: the same draft stays (nothing to do);
 * - `sent`: the new chat's first message was sent and stored it (its draft
 *   went with the message: forget `''`, keep typing under the id);
 * - `switch`: another conversation: keep the old draft, show the new one's.
 * @param {{id: string, stored: boolean}} before
 * @param {{id: string, stored: boolean}} now
 * @returns {'same'|'sent'|'switch'}
 */
export function draftChange(before, now) {
  if (draftKey(before) === draftKey(now)) return 'same';
  if (before.id === now.id && !before.stored && now.stored) return 'sent';
  return 'switch';
}
