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

/// The version of the credentials secret a push reads, pinned for one function invocation.
///
/// resolve-mapping reads the secret's current version once and the work list names it
/// (`credentials_version`); every later step's event carries it, [`lambda::serve`] scopes it
/// around the step, and [`secrets::CredentialSource`] reads that version, from its cache when
/// the warm process read it before. One push acts with one set of credentials, and a warm
/// function reads the secret once per version, not once per invocation.
pub mod pinned {
    use std::future::Future;

    tokio::task_local! {
        static CREDENTIALS_VERSION: Option<String>;
    }

    /// Runs `step` with `version` as its credentials version.
    pub async fn with_credentials_version<F: Future>(
        version: Option<String>,
        step: F,
    ) -> F::Output {
        CREDENTIALS_VERSION.scope(version, step).await
    }

    /// The credentials version of the running step, when its event named one.
    pub fn credentials_version() -> Option<String> {
        CREDENTIALS_VERSION.try_with(Clone::clone).ok().flatten()
    }
}

/// An optional environment variable (unset and empty are the same).
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
