import { test } from 'node:test';
import assert from 'node:assert/strict';
import { draftChange, draftKey, NEW_CHAT } from '../../ui/js/drafts-model.js';

test('a stored conversation keeps its draft under its id, the new chat under ""', () => {
  assert.equal(draftKey({ id: 'a', stored: true }), 'a');
  assert.equal(draftKey({ id: 'fresh', stored: false }), NEW_CHAT);
  assert.equal(NEW_CHAT, '');
});

test('sending the new chat\'s first message forgets its draft; switching keeps both', () => {
  const fresh = { id: 'n1', stored: false };
  assert.equal(draftChange(fresh, { id: 'n1', stored: true }), 'sent');
  // Another new chat is the same (new chat) draft.
  assert.equal(draftChange(fresh, { id: 'n2', stored: false }), 'same');
  assert.equal(draftChange({ id: 'a', stored: true }, { id: 'b', stored: true }), 'switch');
  assert.equal(draftChange({ id: 'a', stored: true }, fresh), 'switch');
  assert.equal(draftChange(fresh, { id: 'b', stored: true }), 'switch');
  assert.equal(draftChange({ id: 'a', stored: true }, { id: 'a', stored: true }), 'same');
});
