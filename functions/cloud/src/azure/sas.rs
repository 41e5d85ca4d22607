//! Shared access signatures signed with the account key (version 2020-12-06): the account SAS
//! every adapter call carries, and the read-only blob SAS Partner Center copies a disk with.

use std::time::{Duration, SystemTime};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use vmpush_domain::steps::StepError;

use super::StorageAccount;

/// What is left alone in query values (RFC 3986 unreserved).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The SAS version signed.
const VERSION: &str = "2020-12-06";

/// What the adapter's account SAS allows: read, write, delete, list, add, create, update,
/// process and tags, on containers and blobs of the blob service.
const ACCOUNT_PERMISSIONS: &str = "rwdlacupt";

/// How long an account SAS lives: the calls of one invocation.
pub(super) const ACCOUNT_SAS_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// An ISO 8601 UTC time (`2026-12-03T11:04:49Z`).
fn iso(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The query of an account SAS valid from `now` (less five minutes of clock skew) for
/// [`ACCOUNT_SAS_LIFETIME`].
pub(super) fn account_sas(account: &StorageAccount, now: SystemTime) -> Result<String, StepError> {
    let start = iso(now - Duration::from_secs(300));
    let expiry = iso(now + ACCOUNT_SAS_LIFETIME);
    let (services, types) = ("b", "sco");
    let to_sign = format!(
        "{}\n{ACCOUNT_PERMISSIONS}\n{services}\n{types}\n{start}\n{expiry}\n\n\n{VERSION}\n\n",
        account.name
    );
    let signature = sign(account, &to_sign)?;
    Ok(format!(
        "sv={VERSION}&ss={services}&srt={types}&sp={ACCOUNT_PERMISSIONS}&st={start}&se={expiry}&sig={}",
        utf8_percent_encode(&signature, UNRESERVED)
    ))
}

/// The query of a service SAS reading one blob until `expiry`, as the reference's
/// `generate_blob_sas(..., permission=read, expiry=...)` signs it (no start time).
pub(super) fn blob_read_sas(
    account: &StorageAccount,
    container: &str,
    blob: &str,
    expiry: SystemTime,
) -> Result<String, StepError> {
    let expiry = iso(expiry);
    let resource = format!("/blob/{}/{container}/{blob}", account.name);
    // permissions, start, expiry, resource, identifier, IP, protocol, version, resource type
    // (b), snapshot time, encryption scope, then the five response headers
    let to_sign = format!("r\n\n{expiry}\n{resource}\n\n\n\n{VERSION}\nb\n\n\n\n\n\n\n");
    let signature = sign(account, &to_sign)?;
    Ok(format!(
        "se={}&sp=r&sv={VERSION}&sr=b&sig={}",
        utf8_percent_encode(&expiry, UNRESERVED),
        utf8_percent_encode(&signature, UNRESERVED)
    ))
}

/// The base64 HMAC-SHA256 of `text` with the account key.
fn sign(account: &StorageAccount, text: &str) -> Result<String, StepError> {
    let key = azure_core::credentials::Secret::new(account.key().to_string());
    azure_core::hmac::hmac_sha256(text, &key).map_err(|_| {
        StepError::invalid(format!(
            "credentials of the storage account {}: AccountKey is not base64",
            account.name
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_sas_is_signed_over_its_fields() {
        let account = StorageAccount::parse(
            "azure-na",
            "AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1",
        )
        .unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_300_000);
        let query = account_sas(&account, now).unwrap();
        // signed by Python's hmac over the documented string-to-sign
        assert_eq!(
            query,
            "sv=2020-12-06&ss=b&srt=sco&sp=rwdlacupt&st=2026-12-03T12:08:20Z&se=2026-12-03T13:13:20Z\
             &sig=FAiQhwbqSwM3rvyCFAu0QwOY%2FyN%2BrEA6R0hMdOiOvqc%3D"
        );
        let read = blob_read_sas(
            &account,
            "pubupload",
            "rhel.vhd",
            now + Duration::from_secs(1095 * 24 * 3600),
        )
        .unwrap();
        assert_eq!(
            read,
            // signed by Python's hmac over the documented string-to-sign (no start time)
            "se=2029-12-02T12%3A13%3A20Z&sp=r&sv=2020-12-06&sr=b\
             &sig=U3evPZUcSwLDNL7%2BU5hptFl8c8UxTShx2Wa2P4OA4so%3D"
        );
        let bad = StorageAccount::parse("azure-na", "AccountName=a;AccountKey=***").unwrap();
        assert_eq!(
            account_sas(&bad, now).unwrap_err().message,
            "credentials of the storage account a: AccountKey is not base64"
        );
    }
}
