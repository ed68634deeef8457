//! Export (Markdown, Runnel JSON) and import of Runnel JSON.

use super::model::{ConversationSummary, Deleted, Message, WHOLE_CONVERSATION};
use super::{new_id, Store, StoreError};
use crate::types::chat::Role;
use crate::types::status::MessageStatus;

impl Store {
    /// The conversation as Markdown (shown versions only).
    pub fn export_markdown(&self, id: &str) -> Result<String, StoreError> {
        let c = self.conversation(id)?;
        let mut out = format!("# {}\n\n", c.title);
        if !c.system_prompt.trim().is_empty() {
            out.push_str(&format!(
                "> System: {}\n\n",
                c.system_prompt.trim().replace('\n', "\n> ")
            ));
        }
        for m in self.messages(id, None, WHOLE_CONVERSATION)? {
            let who = if m.role == Role::User {
                "You"
            } else {
                "Assistant"
            };
            out.push_str(&format!("## {who}\n\n"));
            if let Some(r) = m.reasoning.as_deref().filter(|r| !r.is_empty()) {
                out.push_str(&format!(
                    "<details><summary>Thinking</summary>\n\n{r}\n\n</details>\n\n"
                ));
            }
            out.push_str(m.content.trim_end());
            out.push_str("\n\n");
            if m.status != MessageStatus::Done {
                out.push_str(&format!("*({})*\n\n", m.status.as_str()));
            }
        }
        Ok(out)
    }

    /// The conversation as Runnel JSON (everything, versions included).
    pub fn export_json(&self, id: &str) -> Result<serde_json::Value, StoreError> {
        let d = Deleted {
            conversation: self.conversation(id)?,
            messages: self.all_messages(id)?,
        };
        Ok(serde_json::json!({
            "format": "runnel-conversation",
            "version": 1,
            "conversation": d.conversation,
            "messages": d.messages,
        }))
    }

    /// Imports a Runnel JSON export as a new conversation (new ids); returns its id.
    pub fn import_json(&self, v: &serde_json::Value) -> Result<String, StoreError> {
        if v.get("format").and_then(serde_json::Value::as_str) != Some("runnel-conversation") {
            return Err(StoreError::Invalid(
                "This is not a Runnel conversation export".into(),
            ));
        }
        let mut conversation: ConversationSummary =
            serde_json::from_value(v["conversation"].clone()).map_err(|e| {
                StoreError::Invalid(format!("The export's conversation is unreadable: {e}"))
            })?;
        let mut messages: Vec<Message> =
            serde_json::from_value(v["messages"].clone()).map_err(|e| {
                StoreError::Invalid(format!("The export's messages are unreadable: {e}"))
            })?;
        let new_conv = new_id();
        let mut ids = std::collections::HashMap::new();
        for m in &messages {
            ids.insert(m.id.clone(), new_id());
        }
        for m in &mut messages {
            m.id = ids[&m.id].clone();
            m.conversation_id = new_conv.clone();
            m.parent_id = m.parent_id.as_ref().and_then(|p| ids.get(p).cloned());
            m.variant_of = m.variant_of.as_ref().and_then(|p| ids.get(p).cloned());
        }
        conversation.id = new_conv.clone();
        conversation.pinned = false;
        self.restore(&Deleted {
            conversation,
            messages,
        })?;
        Ok(new_conv)
    }
}
