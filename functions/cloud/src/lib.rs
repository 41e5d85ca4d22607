//! vmpush's adapters: the implementations of the domain's ports that talk to networks — the
//! StArMap and RHSM clients, the push API's HTTP shapes and its signed client (`api`), and the AWS SDK adapters behind
//! features (`s3`, `sfn`, ...), so each function builds only the SDKs it uses.

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "azure")]
pub mod azure;
#[cfg(all(test, feature = "aws"))]
mod canned;
#[cfg(feature = "ec2")]
pub mod ec2;
#[cfg(feature = "secrets")]
pub mod identity;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "marketplace")]
pub mod marketplace;
#[cfg(feature = "api")]
pub mod push_api;
pub mod rhsm;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "secrets")]
pub mod secrets;
#[cfg(feature = "sfn")]
pub mod sfn;
#[cfg(feature = "sns")]
pub mod sns;
pub mod starmap;

/// An optional environment variable (unset and empty are the same).
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
