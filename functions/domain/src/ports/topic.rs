//! A notification topic: messages with filterable attributes.

use std::future::Future;

use crate::steps::StepError;

/// A message attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// `String`.
    Text(String),
    /// `String.Array` (filter policies match any element).
    List(Vec<String>),
}

/// One SNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Subject (at most 100 characters).
    pub subject: String,
    /// The `MessageStructure=json` body: `{"default": ..., "email": ...}`.
    pub body: String,
    /// Message attributes.
    pub attributes: Vec<(String, Attribute)>,
}

/// An SNS topic.
pub trait Topic: Sync {
    /// Publishes a message; returns its id.
    fn publish(&self, message: &Message) -> impl Future<Output = Result<String, StepError>> + Send;
}
