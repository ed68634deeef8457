//! Listing a provider's models, with errors that say what to fix.

use super::http::{parse_retry_after, read_limited, MODELS_BODY_LIMIT};
use super::Engine;
use crate::engine::endpoint::Endpoint;
use crate::types::error::{provider_message, EngineError, ErrorKind, TimeoutPhase};
use crate::types::key::key_mismatch_hint;
use std::time::SystemTime;

impl Engine {
    /// Lists the endpoint's models with `GET {base}/models`. Errors say what
    /// is wrong in the user's terms: a wrong key, a base URL without `/v1`, an
    /// HTML page instead of an API, an unreachable host, TLS.
    pub async fn list_models(&self, endpoint: &Endpoint) -> Result<Vec<String>, EngineError> {
        endpoint.check_base_url()?;
        let redact = |e: EngineError| match &endpoint.api_key {
            Some(k) => e.redacted(k.expose()),
            None => e,
        };
        match self.get_models(endpoint).await.map_err(redact) {
            Ok(models) => Ok(models),
            Err(e)
                if matches!(e.status(), Some(404)) || matches!(e, EngineError::NotAnApi { .. }) =>
            {
                // A base URL without /v1 is the usual mistake: say so when /v1 answers.
                if !endpoint.base_url.ends_with("/v1") {
                    let mut v1 = endpoint.clone();
                    v1.base_url = format!("{}/v1", endpoint.base_url);
                    if self.get_models(&v1).await.is_ok() {
                        return Err(EngineError::Config {
                            kind: ErrorKind::NotFound,
                            message: format!(
                                "No API at {}, but there is one at {}: add /v1 to the base URL.",
                                endpoint.base_url, v1.base_url
                            ),
                        });
                    }
                }
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    async fn get_models(&self, endpoint: &Endpoint) -> Result<Vec<String>, EngineError> {
        let url = endpoint.models_url();
        let req = endpoint.authorize(
            self.client
                .get(&url)
                .header(reqwest::header::ACCEPT, "application/json"),
        );
        let response = tokio::time::timeout(self.config.first_byte_timeout, req.send())
            .await
            .map_err(|_| EngineError::Timeout {
                phase: TimeoutPhase::FirstByte,
                after: self.config.first_byte_timeout,
            })?
            .map_err(|e| self.send_error(&url, &e))?;
        let status = response.status().as_u16();
        let retry_after = parse_retry_after(response.headers(), SystemTime::now());
        let body = tokio::time::timeout(
            self.config.idle_timeout,
            read_limited(response, self.config.idle_timeout, MODELS_BODY_LIMIT),
        )
        .await
        .unwrap_or_default();
        if !(200..300).contains(&status) {
            let mut message = provider_message(&body);
            if status == 401 || status == 403 {
                if let Some(hint) = endpoint
                    .api_key
                    .as_ref()
                    .and_then(|k| key_mismatch_hint(&endpoint.base_url, k))
                {
                    message = format!("{message} {hint}");
                }
            }
            return Err(EngineError::Http {
                status,
                message,
                body,
                retry_after,
            });
        }
        parse_models(&body).ok_or_else(|| EngineError::NotAnApi {
            url,
            detail: provider_message(&body),
        })
    }
}

/// Model ids from an OpenAI-style `{"data": [{"id"}]}` (or `{"models": [...]}`) list, sorted.
pub fn parse_models(body: &str) -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let list = v
        .get("data")
        .or_else(|| v.get("models"))
        .unwrap_or(&v)
        .as_array()?;
    let mut ids: Vec<String> = list
        .iter()
        .filter_map(|m| {
            m.as_str()
                .or_else(|| m.get("id").and_then(serde_json::Value::as_str))
                .or_else(|| m.get("name").and_then(serde_json::Value::as_str))
                .map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids.dedup();
    Some(ids)
}
