//! Microsoft's Product Ingestion API (Partner Center), as the azure-publish step uses it:
//! products, their resource trees per target, submissions, and `configure` jobs. Resources
//! travel as JSON values in Microsoft's documented shapes (`$schema`, `id`, `identity`,
//! `product`, `plan`, …): the step edits the few fields it owns and sends the rest back as
//! read. `vmpush-cloud` implements it over HTTP with an OAuth2 client-credentials token.

use std::future::Future;

use serde_json::Value;

use crate::steps::StepError;

/// The state of a `configure` job (`GET /configure/<jobId>/status`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobStatus {
    /// `jobId`.
    pub job_id: String,
    /// `jobStatus`: `notStarted`, `running` or `completed`.
    pub status: String,
    /// `jobResult`: `pending`, `succeeded` or `failed`.
    pub result: String,
    /// `errors`, as sent.
    pub errors: Vec<Value>,
}

impl JobStatus {
    /// Whether the job has finished (either way).
    pub fn completed(&self) -> bool {
        self.status == "completed"
    }

    /// Whether it finished and succeeded.
    pub fn succeeded(&self) -> bool {
        self.completed() && self.result == "succeeded"
    }
}

/// The Product Ingestion API of one Partner Center account.
pub trait ProductIngestion: Sync {
    /// Every product summary (`GET /product`, all `@nextLink` pages).
    fn products(&self) -> impl Future<Output = Result<Vec<Value>, StepError>> + Send;
    /// The resource tree of product `product` (its durable id) at `target` (`draft`,
    /// `preview`, `live`), or `None` when the product has nothing there.
    fn resource_tree(
        &self,
        product: &str,
        target: &str,
    ) -> impl Future<Output = Result<Option<Value>, StepError>> + Send;
    /// The product's submissions (`GET /submission/<id>`).
    fn submissions(
        &self,
        product: &str,
    ) -> impl Future<Output = Result<Vec<Value>, StepError>> + Send;
    /// Starts a `configure` job with `body` (`POST /configure`).
    fn configure(&self, body: &Value) -> impl Future<Output = Result<JobStatus, StepError>> + Send;
    /// The job's state; a server error answers a pending job (the reference's rule).
    fn job_status(&self, job: &str) -> impl Future<Output = Result<JobStatus, StepError>> + Send;
}
