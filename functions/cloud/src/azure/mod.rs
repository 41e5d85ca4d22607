//! Azure adapters (feature `azure`): the storage account of a connection string, the SAS
//! tokens vmpush signs with its key, Partner Center's Product Ingestion API, and the page blobs of the azure-upload step over the
//! official `azure_storage_blob` crate. The crate takes no shared key, so every call carries a
//! short-lived account SAS in its URL; no URL with a query, no key and no signature is ever
//! logged or returned.

pub mod blobs;
mod connection;
pub mod ingestion;
mod sas;

pub use connection::StorageAccount;
