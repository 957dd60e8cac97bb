//! [`StoreFuture`]: what every store operation returns.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The future a store operation returns: ready at once, for a store that answers in the
/// caller's thread (both built-in stores do: memory, and sled, whose durable writes are
/// its blocking flush), or a boxed future, for a store that waits on I/O.
///
/// A ready answer costs no allocation and no dynamic call, where an `async fn` behind
/// `dyn Storage` would box a future on every call: an authorization flow makes about
/// twenty store calls.
///
/// ```
/// use portcullis::storage::StoreFuture;
///
/// // In a store that answers now:
/// fn get(key: &str) -> StoreFuture<'_, usize> {
///     StoreFuture::now(|| key.len())
/// }
/// // In one that waits:
/// fn fetch(key: &str) -> StoreFuture<'_, usize> {
///     StoreFuture::boxed(async move { key.len() })
/// }
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// assert_eq!(rt.block_on(get("abc")), 3);
/// assert_eq!(rt.block_on(fetch("abcd")), 4);
/// ```
#[must_use = "a store operation does nothing unless awaited"]
pub struct StoreFuture<'a, T>(State<'a, T>);

enum State<'a, T> {
    Ready(Option<T>),
    Boxed(Pin<Box<dyn Future<Output = T> + Send + 'a>>),
}

impl<'a, T> StoreFuture<'a, T> {
    /// Ready with `value`.
    pub fn ready(value: T) -> Self {
        Self(State::Ready(Some(value)))
    }

    /// Runs `answer` now, in the caller's thread, and is ready with what it returns.
    pub fn now(answer: impl FnOnce() -> T) -> Self {
        Self::ready(answer())
    }

    /// Waits for `future`.
    pub fn boxed(future: impl Future<Output = T> + Send + 'a) -> Self {
        Self(State::Boxed(Box::pin(future)))
    }
}

// Never pinned structurally: the ready value is moved out, the boxed future is pinned in
// its box.
impl<T> Unpin for StoreFuture<'_, T> {}

impl<T> Future for StoreFuture<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match &mut self.get_mut().0 {
            State::Ready(value) => Poll::Ready(value.take().expect("polled after completion")),
            State::Boxed(future) => future.as_mut().poll(cx),
        }
    }
}

impl<T> std::fmt::Debug for StoreFuture<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            State::Ready(_) => "StoreFuture::Ready",
            State::Boxed(_) => "StoreFuture::Boxed",
        })
    }
}
