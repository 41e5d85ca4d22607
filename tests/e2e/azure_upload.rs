//! azure-upload through its real binary on the local stack, against Azurite: a staged
//! `.vhd.xz` becomes one page blob of its decompressed content, tagged complete, resumed
//! after an interrupted invocation, never written twice; a corrupt VHD writes nothing; no SAS
//! or key leaves the function.

mod staged;

use serde_json::{Value, json};
use staged::{image, sha, stage, workspace, xz};
use vmpush_cloud::azure::StorageAccount;
use vmpush_cloud::azure::blobs::AzureBlobs;
use vmpush_domain::ports::PageBlobs;
use vmpush_domain::steps::azure_upload::vhd::fixed_footer;
use vmpush_local::testing::TestStack;
use vmpush_local::{CREDENTIALS_SECRET, Options, STAGING_BUCKET};

const NAME: &str = "rhel-azure-9.4-1.x86_64.vhd";

fn work(key: &str, sha256: Option<&str>) -> Value {
    json!({"id": "au-e2e", "account": "azure-na", "container": "pubupload", "blob": NAME,
           "source_bucket": STAGING_BUCKET, "source_key": key, "size": null, "sha256": sha256,
           "tags": [["nvra", "rhel-azure-9.4-1.x86_64"], ["arch", "x86_64"]]})
}

/// A fixed VHD: `mib` MiB of disk (zeros with a random block in every MiB) and its footer.
fn vhd(mib: usize, seed: u64) -> Vec<u8> {
    let mut disk = image(mib << 20, seed);
    disk.extend_from_slice(&fixed_footer((mib as u64) << 20));
    disk
}

fn invoke(stack: &TestStack, payload: &Value) -> Value {
    let (error, body) = stack.invoke("vmpush-azure-upload", payload);
    assert_eq!(error, None, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vhd_becomes_one_page_blob_resumed_and_never_written_twice() {
    let stack = TestStack::up(workspace(), &Options::default()).await;
    let connection = stack.var("AZURE_STORAGE_CONNECTION_STRING").to_string();
    let credentials = json!([{"marketplace_account": "azure-na", "auth": {
        "AZURE_TENANT_ID": "tenant", "AZURE_CLIENT_ID": "client", "AZURE_API_SECRET": "client-secret-e2e",
        "AZURE_STORAGE_CONNECTION_STRING": connection}}]);
    stack.aws(&[
        "secretsmanager",
        "put-secret-value",
        "--secret-id",
        CREDENTIALS_SECRET,
        "--secret-string",
        &credentials.to_string(),
    ]);
    let disk = vhd(24, 11);
    let key = format!("drops/p1/{NAME}.xz");
    stage(&stack, &key, &xz(&disk).await);

    // interrupted after 2 written chunks
    let mut first = work(&key, Some(&sha(&disk)));
    first["max_chunks"] = json!(2);
    let out = invoke(&stack, &first);
    assert_eq!(out["status"], "continue", "{out}");
    assert_eq!(out["chunks"]["written"], 2);
    let continuation = out["continuation"].clone();
    assert_eq!(continuation["sha256"], sha(&disk));
    assert_eq!(continuation["size"], disk.len() as u64);

    // the continuation writes the rest
    let mut next = work(&key, Some(&sha(&disk)));
    next["continuation"] = continuation;
    let done = invoke(&stack, &next);
    let url = format!("{}/pubupload/{NAME}", stack.var("VMPUSH_AZURITE_URL"));
    assert_eq!(
        (
            &done["status"],
            &done["url"],
            &done["size"],
            &done["skipped"]
        ),
        (
            &json!("done"),
            &json!(url),
            &json!(disk.len()),
            &json!(false)
        )
    );
    // 6 chunks of 4 MiB and the footer's: 2 written before, the rest now
    assert_eq!(
        done["chunks"],
        json!({"written": 5, "zero": 0, "reused": 2})
    );

    let account = StorageAccount::parse("azure-na", &connection).unwrap();
    let blobs = AzureBlobs::new(&account).unwrap();
    let blob = blobs.blob("pubupload", NAME).await.unwrap().unwrap();
    assert_eq!(blob.size, disk.len() as u64);
    assert_eq!(
        blob.tags,
        [
            ("arch".to_string(), "x86_64".to_string()),
            ("nvra".into(), "rhel-azure-9.4-1.x86_64".into()),
            ("sha256".into(), sha(&disk)),
        ]
    );
    let read = blobs.read_url("pubupload", NAME).unwrap();
    assert!(read.starts_with(&format!("{url}?")) && read.contains("sp=r"));
    let content = reqwest::get(&read).await.unwrap();
    assert_eq!(content.status(), 200);
    assert_eq!(sha(&content.bytes().await.unwrap()), sha(&disk));
    let ranges = blobs.written_ranges("pubupload", NAME).await.unwrap();
    let written: u64 = ranges.iter().map(|(s, e)| e - s).sum();
    assert_eq!(written, disk.len() as u64, "{ranges:?}");

    // a second push reads nothing and writes nothing
    let again = invoke(&stack, &work(&key, Some(&sha(&disk))));
    assert_eq!(
        (&again["skipped"], &again["chunks"]["written"]),
        (&json!(true), &json!(0))
    );

    // a corrupt footer fails before any write
    let mut corrupt = vhd(2, 12);
    let at = corrupt.len() - 100;
    corrupt[at] ^= 0x55;
    let bad_key = "drops/p2/corrupt.vhd";
    stage(&stack, bad_key, &corrupt);
    let mut bad = work(bad_key, None);
    bad["blob"] = json!("corrupt.vhd");
    let (error, body) = stack.invoke("vmpush-azure-upload", &bad);
    assert!(error.is_some(), "{body}");
    assert_eq!(body["errorType"], "InvalidInput");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("the footer is corrupt"),
        "{body}"
    );
    assert_eq!(blobs.blob("pubupload", "corrupt.vhd").await.unwrap(), None);

    // no signature, key or secret in any output or log but the storage service's own (Azurite
    // logs the requests it receives, SAS included)
    let key_value = connection
        .split("AccountKey=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    let mut texts = vec![("outputs".to_string(), format!("{out}{done}{again}{body}"))];
    for entry in std::fs::read_dir(stack.layout.logs()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n == "azurite.log") {
            continue;
        }
        texts.push((
            path.display().to_string(),
            std::fs::read_to_string(&path).unwrap_or_default(),
        ));
    }
    for (place, text) in &texts {
        for secret in ["sig=", key_value, "client-secret-e2e"] {
            if let Some(at) = text.find(secret) {
                let context = &text[at.saturating_sub(300)..(at + 100).min(text.len())];
                panic!("{secret} leaked in {place}: {context}");
            }
        }
    }
}
