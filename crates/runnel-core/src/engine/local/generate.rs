//! One generation with llama.cpp, on a blocking thread: template the
//! conversation with the model's own chat template, fit it in the context
//! (dropping the oldest turns, never the system prompt), process the prompt
//! in batches, then sample token by token until an end-of-generation token,
//! the token limit, or Stop. Every piece of text goes out as soon as it is
//! whole UTF-8.

use super::{GenEvent, GenRequest, GenStats};
use crate::types::chat::Role;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};

/// Tokens processed per prompt batch.
pub const PROMPT_BATCH: u32 = 512;
/// Output tokens always left free in the context when old turns are dropped.
pub const MIN_ANSWER_ROOM: u32 = 256;
/// Context sizes are rounded up to a multiple of this many tokens.
pub const CONTEXT_STEP: u32 = 256;
/// The template used when a model carries none that llama.cpp knows.
pub const FALLBACK_TEMPLATE: &str = "chatml";

/// Why a generation could not run.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// The model or its context could not be used.
    #[error("{0}")]
    Model(String),
}

fn model_error(what: &str, e: impl std::fmt::Display) -> GenError {
    GenError::Model(format!("{what}: {e}"))
}

/// `messages` written with the chat template `template`.
pub fn apply_template(
    model: &LlamaModel,
    template: &LlamaChatTemplate,
    messages: &[(Role, &str)],
) -> Result<String, GenError> {
    let chat = messages
        .iter()
        .map(|(role, text)| LlamaChatMessage::new(role.as_str().to_owned(), (*text).to_owned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| model_error("a message cannot be given to the model", e))?;
    model
        .apply_chat_template(template, &chat, true)
        .map_err(|e| model_error("the conversation could not be templated", e))
}

/// The conversation as the model's own chat template writes it; with a
/// named fallback (and a notice) when it has none llama.cpp knows.
pub fn templated_prompt(
    model: &LlamaModel,
    messages: &[(Role, &str)],
    notices: &mut Vec<String>,
) -> Result<String, GenError> {
    let own = model.chat_template(None).ok();
    if let Some(t) = &own {
        if let Ok(prompt) = apply_template(model, t, messages) {
            return Ok(prompt);
        }
    }
    let fallback = LlamaChatTemplate::new(FALLBACK_TEMPLATE)
        .map_err(|e| model_error("the fallback chat template", e))?;
    let prompt = apply_template(model, &fallback, messages)?;
    notices.push(match own {
        Some(_) => format!(
            "This model's chat template is not one llama.cpp knows: using the {FALLBACK_TEMPLATE} template."
        ),
        None => format!("This model carries no chat template: using the {FALLBACK_TEMPLATE} template."),
    });
    Ok(prompt)
}

/// A prompt that fits: its tokens, how many old messages were left out, and
/// whether the chat template ended it inside an open `<think>` block.
struct Fitted {
    tokens: Vec<LlamaToken>,
    dropped: usize,
    thinking: bool,
}

/// The messages a prompt keeps, and how many were left out: the system
/// prompt (when it comes first) always, then the newest messages, the
/// oldest whole turns of the others left out until `fits` takes what is
/// kept (`Ok(Some(_))`). A turn goes with its answer and tool results, so
/// what is kept starts at a user message, as chat templates that insist on
/// alternating roles want. `Ok(None)` from `fits` means too long. Err(None)
/// when even the last message alone is too long.
fn fit_messages<T, E>(
    messages: &[(Role, String)],
    mut fits: impl FnMut(&[(Role, &str)]) -> Result<Option<T>, E>,
) -> Result<(T, usize), Option<E>> {
    let system = usize::from(messages.first().map(|m| m.0) == Some(Role::System));
    let last = messages.len().saturating_sub(1);
    let mut dropped = 0usize;
    loop {
        let kept: Vec<(Role, &str)> = messages[..system]
            .iter()
            .chain(&messages[system + dropped..])
            .map(|(r, t)| (*r, t.as_str()))
            .collect();
        if let Some(v) = fits(&kept).map_err(Some)? {
            return Ok((v, dropped));
        }
        // Keep at least the last message.
        if system + dropped >= last {
            return Err(None);
        }
        dropped += 1;
        while system + dropped < last && messages[system + dropped].0 != Role::User {
            dropped += 1;
        }
    }
}

/// The prompt's tokens, with the conversation cut to fit `n_ctx` minus
/// room for the answer: the oldest turns after the system prompt go first.
fn fitted_tokens(
    model: &LlamaModel,
    request: &GenRequest,
    n_ctx: u32,
    notices: &mut Vec<String>,
) -> Result<Fitted, GenError> {
    let room = request.max_tokens.clamp(1, MIN_ANSWER_ROOM.max(1));
    let limit = n_ctx.saturating_sub(room) as usize;
    let mut longest = 0usize;
    let fitted = fit_messages(&request.messages, |kept| {
        let mut tpl_notices = Vec::new();
        let prompt = templated_prompt(model, kept, &mut tpl_notices)?;
        let tokens = tokenize(model, &prompt);
        if tokens.len() > limit {
            longest = tokens.len();
            return Ok(None);
        }
        let thinking = prompt.trim_end().ends_with("<think>");
        Ok(Some((tokens, tpl_notices, thinking)))
    });
    match fitted {
        Ok(((tokens, tpl_notices, thinking), dropped)) => {
            notices.extend(tpl_notices);
            Ok(Fitted {
                tokens,
                dropped,
                thinking,
            })
        }
        Err(Some(e)) => Err(e),
        Err(None) => Err(GenError::Model(format!(
            "The message is too long for this model: {longest} tokens, and its context holds {n_ctx} \
             (with {room} left for the answer)."
        ))),
    }
}

/// Tokens of a templated prompt: special tokens parsed, the model's BOS
/// added when it wants one and the template did not already write it.
fn tokenize(model: &LlamaModel, prompt: &str) -> Vec<LlamaToken> {
    let vocab = model.vocab();
    let mut tokens = vocab.tokenize(prompt.as_bytes(), true, true);
    if tokens.len() >= 2 && tokens[0] == vocab.bos() && tokens[1] == vocab.bos() {
        tokens.remove(0);
    }
    tokens
}

/// The sampler for the request's settings: greedy at temperature 0 (the
/// same text every time), else llama.cpp's usual chain.
fn sampler(request: &GenRequest) -> LlamaSampler {
    if request.temperature <= 0.0 {
        return LlamaSampler::greedy();
    }
    LlamaSampler::chain_simple([
        LlamaSampler::top_k(40),
        LlamaSampler::top_p(request.top_p.clamp(0.0, 1.0), 1),
        LlamaSampler::min_p(0.05, 1),
        LlamaSampler::temp(request.temperature),
        LlamaSampler::dist(request.seed),
    ])
}

/// Runs one generation. `send` gets notices and text pieces; `stop` is
/// checked before every token.
pub fn generate(
    backend: &LlamaBackend,
    model: &LlamaModel,
    request: &GenRequest,
    stop: &AtomicBool,
    send: &mut dyn FnMut(GenEvent),
) -> Result<GenStats, GenError> {
    let cap = request.context.min(model.n_ctx_train().max(1)).max(64);
    let mut notices = Vec::new();
    let Fitted {
        tokens,
        dropped,
        thinking,
    } = fitted_tokens(model, request, cap, &mut notices)?;
    // The context holds this prompt and this answer's most tokens, not the
    // whole cap: its memory (the KV cache) is allocated for every answer, so
    // a short answer starts sooner.
    let needed = (tokens.len() as u64 + u64::from(request.max_tokens))
        .div_ceil(u64::from(CONTEXT_STEP))
        * u64::from(CONTEXT_STEP);
    let n_ctx = u32::try_from(needed)
        .unwrap_or(cap)
        .clamp(CONTEXT_STEP.min(cap), cap);
    for n in notices {
        send(GenEvent::Notice(n));
    }
    if dropped > 0 {
        send(GenEvent::Trimmed {
            dropped: u32::try_from(dropped).unwrap_or(u32::MAX),
            context: cap,
        });
    }
    let threads = i32::try_from(request.threads.max(1)).unwrap_or(1);
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_batch(PROMPT_BATCH)
        .with_n_ubatch(PROMPT_BATCH)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let mut ctx = model.new_context(backend, params).map_err(|e| {
        model_error(
            "the model's context could not be made (is memory short?)",
            e,
        )
    })?;
    let mut stats = GenStats {
        prompt_tokens: tokens.len() as u64,
        dropped_messages: dropped,
        ..GenStats::default()
    };
    let mut batch = LlamaBatch::new(PROMPT_BATCH as usize, 1);
    let last = tokens.len().saturating_sub(1);
    let prompt_started = std::time::Instant::now();
    for (chunk_no, chunk) in tokens.chunks(PROMPT_BATCH as usize).enumerate() {
        if stop.load(Ordering::Relaxed) {
            stats.stopped = true;
            return Ok(stats);
        }
        batch.clear();
        for (i, t) in chunk.iter().enumerate() {
            let pos = chunk_no * PROMPT_BATCH as usize + i;
            batch
                .add(*t, pos as i32, &[0], pos == last)
                .map_err(|e| model_error("the prompt batch", e))?;
        }
        ctx.decode(&mut batch)
            .map_err(|e| model_error("the model could not read the prompt", e))?;
    }
    stats.prompt_ms = prompt_started.elapsed().as_secs_f64() * 1000.0;
    send(GenEvent::Prompt {
        tokens: stats.prompt_tokens,
        thinking,
    });
    let vocab = model.vocab();
    let mut sampler = sampler(request);
    let mut pos = tokens.len();
    let mut pending: Vec<u8> = Vec::with_capacity(16);
    let mut piece: Vec<u8> = Vec::with_capacity(16);
    let gen_started = std::time::Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) {
            stats.stopped = true;
            break;
        }
        if stats.completion_tokens >= u64::from(request.max_tokens) {
            stats.finish = Some("length".into());
            break;
        }
        if pos >= n_ctx as usize {
            stats.finish = Some("length".into());
            send(GenEvent::Notice(format!(
                "The answer filled this model's context ({n_ctx} tokens) and was cut there."
            )));
            break;
        }
        let token = sampler.sample(&ctx, -1);
        sampler.accept(token);
        if vocab.is_eog(token) {
            stats.finish = Some("stop".into());
            break;
        }
        stats.completion_tokens += 1;
        piece.clear();
        vocab.token_to_piece_into(token, &mut piece, false, None);
        pending.extend_from_slice(&piece);
        send(GenEvent::Token(take_utf8(&mut pending)));
        batch.clear();
        batch
            .add(token, pos as i32, &[0], true)
            .map_err(|e| model_error("the token batch", e))?;
        ctx.decode(&mut batch)
            .map_err(|e| model_error("the model failed while answering", e))?;
        pos += 1;
    }
    if !pending.is_empty() {
        send(GenEvent::Tail(
            String::from_utf8_lossy(&pending).into_owned(),
        ));
    }
    stats.generate_ms = gen_started.elapsed().as_secs_f64() * 1000.0;
    Ok(stats)
}

/// The longest whole-UTF-8 start of `buf`, removed from it. An incomplete
/// character at the end waits for the next token; bytes that can never be
/// UTF-8 become U+FFFD.
fn take_utf8(buf: &mut Vec<u8>) -> String {
    match std::str::from_utf8(buf) {
        Ok(s) => {
            let s = s.to_owned();
            buf.clear();
            s
        }
        Err(e) => {
            let valid = e.valid_up_to();
            match e.error_len() {
                // Incomplete at the end: keep the tail for the next token.
                None => {
                    let s = String::from_utf8_lossy(&buf[..valid]).into_owned();
                    buf.drain(..valid);
                    s
                }
                Some(bad) => {
                    let mut s = String::from_utf8_lossy(&buf[..valid + bad]).into_owned();
                    buf.drain(..valid + bad);
                    s.push_str(&take_utf8(buf));
                    s
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{fit_messages, take_utf8};
    use crate::types::chat::Role;

    /// A conversation of a system prompt, 3 exchanges and a question,
    /// fitted to a "context" of `limit` characters (13 a message).
    fn fit(limit: usize, system: bool) -> Result<(Vec<String>, usize), Option<()>> {
        let mut messages = Vec::new();
        if system {
            messages.push((Role::System, "SYSTEM".to_owned()));
        }
        for i in 0..7 {
            let role = if i % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            messages.push((role, format!("m{i}-{}", "x".repeat(10))));
        }
        let mut tried_without_system = false;
        let mut began_with_an_answer = false;
        let r = fit_messages(&messages, |kept| {
            if system && kept.first().map(|m| m.1) != Some("SYSTEM") {
                tried_without_system = true;
            }
            let turns = &kept[usize::from(system)..];
            if turns.first().map(|m| m.0) != Some(Role::User) {
                began_with_an_answer = true;
            }
            let len: usize = kept.iter().map(|m| m.1.len()).sum();
            Ok::<_, ()>((len <= limit).then(|| kept.iter().map(|m| m.1.to_owned()).collect()))
        });
        assert!(
            !tried_without_system,
            "every attempt keeps the system prompt"
        );
        assert!(
            !began_with_an_answer,
            "every attempt starts at a user message (whole turns go)"
        );
        r
    }

    #[test]
    fn a_long_conversation_loses_its_oldest_turns_but_never_the_system_prompt() {
        // Everything fits: nothing left out.
        let (kept, dropped) = fit(1000, true).unwrap();
        assert_eq!((kept.len(), dropped), (8, 0));
        // Room for the system prompt and three messages: the last exchange
        // and the question stay.
        let (kept, dropped) = fit(6 + 3 * 13, true).unwrap();
        assert_eq!(dropped, 4);
        assert_eq!(kept[0], "SYSTEM");
        assert!(
            kept[1].starts_with("m4-") && kept[3].starts_with("m6-"),
            "{kept:?}"
        );
        // Room for two: an answer without its question is no turn, so only
        // the question stays.
        let (kept, dropped) = fit(6 + 2 * 13, true).unwrap();
        assert_eq!((kept.len(), dropped), (2, 6));
        assert!(kept[1].starts_with("m6-"));
        // Without a system prompt the oldest turn goes first too.
        let (kept, dropped) = fit(13, false).unwrap();
        assert_eq!(dropped, 6);
        assert!(kept[0].starts_with("m6-"));
        // Not even the last message fits: an error, never an empty prompt.
        assert_eq!(fit(10, true), Err(None));
    }

    #[test]
    fn a_character_split_between_tokens_comes_out_whole() {
        let crab = "🦀".as_bytes();
        let mut buf = crab[..2].to_vec();
        assert_eq!(take_utf8(&mut buf), "");
        buf.extend_from_slice(&crab[2..]);
        buf.extend_from_slice(b"ok");
        assert_eq!(take_utf8(&mut buf), "🦀ok");
        assert!(buf.is_empty());
    }

    #[test]
    fn bytes_that_are_never_utf8_become_replacement_characters() {
        let mut buf = vec![b'a', 0xff, b'b', 0xe2, 0x82];
        assert_eq!(take_utf8(&mut buf), "a\u{fffd}b");
        assert_eq!(buf, vec![0xe2, 0x82]);
    }
}
