//! In-memory conversations: the turns so far, and the messages each send carries
//! (the system prompt, then every turn, including cancelled or failed partial
//! answers as they stand). Persistence comes with the storage module.

use crate::core::openai::{ChatMessage, Role};
use std::collections::HashMap;

/// How an assistant turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnStatus {
    /// A user turn, or an answer still streaming.
    Open,
    /// The answer completed.
    Done,
    /// The user stopped it; the partial text is kept.
    Cancelled,
    /// It failed; the partial text is kept.
    Error,
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// Who.
    pub role: Role,
    /// The text as it stands.
    pub content: String,
    /// How it ended.
    pub status: TurnStatus,
}

/// One conversation.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// The system prompt of the latest send.
    pub system_prompt: String,
    /// Turns in order.
    pub turns: Vec<Turn>,
    /// A stream is running for this conversation.
    pub streaming: bool,
}

impl Conversation {
    /// The messages to send: system prompt (if any), then every non-empty turn.
    pub fn request_messages(&self) -> Vec<ChatMessage> {
        let mut out = Vec::with_capacity(self.turns.len() + 1);
        if !self.system_prompt.trim().is_empty() {
            out.push(ChatMessage::new(Role::System, self.system_prompt.clone()));
        }
        out.extend(
            self.turns
                .iter()
                .filter(|t| !t.content.is_empty())
                .map(|t| ChatMessage::new(t.role, t.content.clone())),
        );
        out
    }
}

/// Why a send could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversationError {
    /// A stream is already running in this conversation.
    #[error("an answer is still streaming in this conversation: stop it first")]
    Busy,
    /// Nothing to send.
    #[error("the message is empty")]
    Empty,
    /// Retry without a user message to answer.
    #[error("there is no message to answer again")]
    NothingToRetry,
}

/// All open conversations, by id.
#[derive(Debug, Default)]
pub struct Conversations {
    map: HashMap<String, Conversation>,
}

impl Conversations {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets a conversation (New chat), even while its stream is ending.
    pub fn remove(&mut self, id: &str) {
        self.map.remove(id);
    }

    /// The conversation, if it exists.
    pub fn get(&self, id: &str) -> Option<&Conversation> {
        self.map.get(id)
    }

    /// Adds the user's message and returns what to send.
    pub fn begin_send(
        &mut self,
        id: &str,
        system_prompt: &str,
        text: &str,
    ) -> Result<Vec<ChatMessage>, ConversationError> {
        if text.trim().is_empty() {
            return Err(ConversationError::Empty);
        }
        let conv = self.map.entry(id.to_owned()).or_default();
        if conv.streaming {
            return Err(ConversationError::Busy);
        }
        conv.system_prompt = system_prompt.to_owned();
        conv.turns.push(Turn {
            role: Role::User,
            content: text.to_owned(),
            status: TurnStatus::Done,
        });
        conv.streaming = true;
        Ok(conv.request_messages())
    }

    /// Drops the last answer (if it was cancelled or failed) and returns what to
    /// send to answer the last user message again.
    pub fn begin_retry(
        &mut self,
        id: &str,
        system_prompt: &str,
    ) -> Result<Vec<ChatMessage>, ConversationError> {
        let conv = self
            .map
            .get_mut(id)
            .ok_or(ConversationError::NothingToRetry)?;
        if conv.streaming {
            return Err(ConversationError::Busy);
        }
        if conv.turns.last().is_some_and(|t| t.role == Role::Assistant) {
            conv.turns.pop();
        }
        if conv.turns.last().is_none_or(|t| t.role != Role::User) {
            return Err(ConversationError::NothingToRetry);
        }
        conv.system_prompt = system_prompt.to_owned();
        conv.streaming = true;
        Ok(conv.request_messages())
    }

    /// Records the answer as it stands when its stream ends. A conversation
    /// forgotten meanwhile (New chat during a stream) stays forgotten.
    pub fn finish(&mut self, id: &str, content: String, status: TurnStatus) {
        if let Some(conv) = self.map.get_mut(id) {
            conv.turns.push(Turn {
                role: Role::Assistant,
                content,
                status,
            });
            conv.streaming = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_turn_carries_system_prompt_and_partial_answers() {
        let mut c = Conversations::new();
        let first = c.begin_send("a", "Be brief.", "Hi").expect("send");
        assert_eq!(
            first,
            vec![
                ChatMessage::new(Role::System, "Be brief."),
                ChatMessage::new(Role::User, "Hi")
            ]
        );
        assert_eq!(c.begin_send("a", "", "again"), Err(ConversationError::Busy));
        c.finish("a", "Hel".into(), TurnStatus::Cancelled);
        let second = c.begin_send("a", "Be brief.", "Go on").expect("send");
        assert_eq!(second.len(), 4);
        assert_eq!(second[2], ChatMessage::new(Role::Assistant, "Hel"));
        assert_eq!(second[3], ChatMessage::new(Role::User, "Go on"));
    }

    #[test]
    fn retry_replaces_the_failed_answer() {
        let mut c = Conversations::new();
        c.begin_send("a", "", "Hi").expect("send");
        c.finish("a", "partial".into(), TurnStatus::Error);
        let msgs = c.begin_retry("a", "").expect("retry");
        assert_eq!(msgs, vec![ChatMessage::new(Role::User, "Hi")]);
        assert_eq!(
            c.begin_retry("nope", ""),
            Err(ConversationError::NothingToRetry)
        );
        assert_eq!(c.begin_send("b", "", "  "), Err(ConversationError::Empty));
    }

    #[test]
    fn a_conversation_forgotten_during_its_stream_is_not_recreated() {
        let mut c = Conversations::new();
        c.begin_send("a", "", "Hi").expect("send");
        c.remove("a");
        c.finish("a", "late".into(), TurnStatus::Cancelled);
        assert!(c.get("a").is_none());
    }
}
