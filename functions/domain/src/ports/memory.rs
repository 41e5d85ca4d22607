//! In-memory implementations of the object and execution ports, for tests (here, and in
//! the adapters' crates through the `testing` feature).

use std::collections::HashMap;
use std::sync::Mutex;

use super::{Execution, Executions, ObjectReader, ObjectWriter};
use crate::steps::{ErrorKind, StepError};

/// Objects by bucket and key.
#[derive(Debug, Default)]
pub struct MemoryObjects(pub Mutex<HashMap<(String, String), Vec<u8>>>);

impl MemoryObjects {
    /// A store holding one object.
    pub fn with(bucket: &str, key: &str, bytes: &[u8]) -> Self {
        let objects = MemoryObjects::default();
        objects
            .0
            .lock()
            .expect("not poisoned")
            .insert((bucket.into(), key.into()), bytes.to_vec());
        objects
    }

    /// The keys of `bucket`, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .0
            .lock()
            .expect("not poisoned")
            .keys()
            .filter(|(b, _)| b == bucket)
            .map(|(_, k)| k.clone())
            .collect();
        keys.sort();
        keys
    }
}

impl ObjectWriter for MemoryObjects {
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, _: &str) -> Result<(), StepError> {
        self.0
            .lock()
            .expect("not poisoned")
            .insert((bucket.into(), key.into()), body);
        Ok(())
    }
}

impl ObjectReader for MemoryObjects {
    async fn read_small(&self, bucket: &str, key: &str, limit: u64) -> Result<Vec<u8>, StepError> {
        let bytes = self
            .0
            .lock()
            .expect("not poisoned")
            .get(&(bucket.into(), key.into()))
            .cloned()
            .ok_or_else(|| StepError::new(ErrorKind::NotFound, format!("s3://{bucket}/{key}")))?;
        assert!(
            bytes.len() as u64 <= limit,
            "s3://{bucket}/{key} is over {limit} bytes"
        );
        Ok(bytes)
    }
}

/// Executions by name (get-or-create), recording the inputs of those started.
#[derive(Debug, Default)]
pub struct MemoryExecutions(pub Mutex<Vec<(String, String)>>);

impl MemoryExecutions {
    /// The (name, input) of every execution started so far.
    pub fn started(&self) -> Vec<(String, String)> {
        self.0.lock().expect("not poisoned").clone()
    }
}

impl Executions for MemoryExecutions {
    async fn start(&self, name: &str, input: &str) -> Result<Execution, StepError> {
        let mut all = self.0.lock().expect("not poisoned");
        let arn = format!("arn:aws:states:us-east-1:123456789012:execution:vmpush-push:{name}");
        if all.iter().any(|(n, _)| n == name) {
            return Ok(Execution {
                arn,
                started: false,
            });
        }
        all.push((name.into(), input.into()));
        Ok(Execution { arn, started: true })
    }
}
