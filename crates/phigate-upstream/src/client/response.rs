//! What a backend answered: a complete body or a live event stream.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use http::{HeaderValue, StatusCode, Version};
use hyper::body::{Body, Incoming};
use tokio::time::{Instant, Sleep};

use super::chain;
use crate::endpoint::EndpointId;
use crate::error::{Error, TimeoutPhase};
use crate::sse::{SseEvent, SseParser};

/// A 2xx answer.
#[derive(Debug)]
pub enum UpstreamResponse {
    /// The whole body (JSON for a non-streaming request; also what a backend
    /// that ignored `stream: true` sends).
    Complete(CompleteResponse),
    /// A `text/event-stream` answer to a streaming request.
    Stream(Box<EventStream>),
}

impl UpstreamResponse {
    /// Time from sending the request to receiving the response headers
    /// (connecting included), for the caller's overhead accounting.
    pub fn time_to_headers(&self) -> Duration {
        match self {
            UpstreamResponse::Complete(c) => c.time_to_headers,
            UpstreamResponse::Stream(s) => s.time_to_headers,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            UpstreamResponse::Complete(c) => c.status,
            UpstreamResponse::Stream(s) => s.status,
        }
    }
}

/// A fully-read 2xx body. `Debug` prints its length, not its content.
pub struct CompleteResponse {
    /// The HTTP status (2xx).
    pub status: StatusCode,
    /// HTTP/1.1 or HTTP/2.
    pub version: Version,
    /// The `Content-Type` header, if any.
    pub content_type: Option<HeaderValue>,
    /// The body. Holds model output: do not log it.
    pub body: Bytes,
    /// Time from sending the request to the response headers.
    pub time_to_headers: Duration,
}

impl fmt::Debug for CompleteResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompleteResponse")
            .field("status", &self.status)
            .field("version", &self.version)
            .field("content_type", &self.content_type)
            .field("body", &format_args!("[{} bytes]", self.body.len()))
            .field("time_to_headers", &self.time_to_headers)
            .finish()
    }
}

/// A live `text/event-stream` body, yielding each event (use its `data`).
///
/// Ends (yields `None`) after `data: [DONE]`, which is not yielded, or at a
/// clean end of the body. Yields an error, then ends, when the body fails
/// ([`Error::StreamInterrupted`]), stops mid-event ([`Error::StreamTruncated`]),
/// stays silent longer than the idle-read timeout ([`Error::Timeout`]) or sends
/// an event over the size bound ([`Error::EventTooLarge`]). Events completed
/// before a failure are yielded first. Never retried: bytes already reached
/// the caller.
pub struct EventStream {
    endpoint: EndpointId,
    status: StatusCode,
    version: Version,
    time_to_headers: Duration,
    body: Incoming,
    parser: SseParser,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    pending_error: Option<Error>,
    finished: bool,
    saw_done: bool,
}

impl fmt::Debug for EventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("endpoint", &self.endpoint)
            .field("status", &self.status)
            .field("version", &self.version)
            .field("finished", &self.finished)
            .field("saw_done", &self.saw_done)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    pub(super) fn new(
        endpoint: EndpointId,
        status: StatusCode,
        version: Version,
        time_to_headers: Duration,
        body: Incoming,
        idle: Duration,
        max_event_bytes: usize,
    ) -> Self {
        Self {
            endpoint,
            status,
            version,
            time_to_headers,
            body,
            parser: SseParser::new(max_event_bytes),
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            pending_error: None,
            finished: false,
            saw_done: false,
        }
    }

    /// The next event; `None` at the end of the stream.
    pub async fn next_event(&mut self) -> Option<Result<SseEvent, Error>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Whether the stream ended with `data: [DONE]` (OpenAI's end marker;
    /// some backends just close the body).
    pub fn saw_done(&self) -> bool {
        self.saw_done
    }

    /// The endpoint that is streaming.
    pub fn endpoint(&self) -> &EndpointId {
        &self.endpoint
    }

    /// The HTTP status (2xx).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// HTTP/1.1 or HTTP/2.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Time from sending the request to the response headers.
    pub fn time_to_headers(&self) -> Duration {
        self.time_to_headers
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<SseEvent, Error>>> {
        self.finished = true;
        Poll::Ready(Some(Err(error)))
    }
}

impl Stream for EventStream {
    type Item = Result<SseEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.finished {
                return Poll::Ready(None);
            }
            if let Some(event) = this.parser.next_event() {
                if event.data == "[DONE]" {
                    this.saw_done = true;
                    this.finished = true;
                    return Poll::Ready(None);
                }
                return Poll::Ready(Some(Ok(event)));
            }
            if let Some(error) = this.pending_error.take() {
                return this.fail(error);
            }
            match Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    this.deadline.as_mut().reset(Instant::now() + this.idle);
                    if let Ok(data) = frame.into_data()
                        && let Err(error) = this.parser.feed(&data)
                    {
                        this.pending_error = Some(error);
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    let detail = chain(&e);
                    return this.fail(Error::StreamInterrupted { endpoint: this.endpoint.clone(), detail });
                }
                Poll::Ready(None) => {
                    if this.parser.finish() {
                        return this.fail(Error::StreamTruncated { endpoint: this.endpoint.clone() });
                    }
                    this.finished = true;
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    if this.deadline.as_mut().poll(cx).is_ready() {
                        let endpoint = this.endpoint.clone();
                        return this.fail(Error::Timeout { endpoint, phase: TimeoutPhase::Read });
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}
