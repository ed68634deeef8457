//! What the window is sent: streamed markdown cut into rendered blocks
//! ([`markdown`]) and engine events batched per frame ([`feed`]), stored messages as shown
//! ([`view`]).

pub mod feed;
pub mod markdown;
pub mod view;
