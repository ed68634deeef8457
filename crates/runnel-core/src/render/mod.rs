//! What the window is sent: streamed markdown cut into rendered blocks
//! ([`markdown`], with code highlighted by [`highlight`] and math made MathML
//! by [`math`]) and engine events batched per frame ([`feed`]), stored
//! messages as shown ([`view`]), and a conversation as one shareable page
//! ([`page`]).

pub mod feed;
pub mod highlight;
pub mod markdown;
pub mod math;
pub mod page;
pub mod view;
