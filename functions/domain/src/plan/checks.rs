//! The clouds' own rules, checked on a plan before anything is uploaded: region, bucket (or
//! container) and AMI names each destination would use, sharing entries EC2 can take, and one
//! image per AMI name in an account and region. Each error names the image's file and the
//! destination's field.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::inputs::credentials::CloudProvider;
use crate::plan::sharing;
use crate::plan::{Plan, PlanItem, PlannedDestination};

/// The geography codes AWS region names start with.
const GEOGRAPHIES: &[&str] = &["af", "ap", "ca", "cn", "eu", "il", "me", "mx", "sa", "us"];

/// The directions of AWS region names.
const DIRECTIONS: &[&str] = &[
    "central",
    "east",
    "north",
    "northeast",
    "northwest",
    "south",
    "southeast",
    "southwest",
    "west",
];

/// Whether `region` is shaped as AWS names regions: `<geography>-[gov-|iso*-]<direction>-<n>`
/// (`us-east-1`, `us-gov-west-1`, `cn-northwest-1`, `us-isob-east-1`).
pub fn is_aws_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let (geography, middle, number) = match parts.as_slice() {
        [g, d, n] => (*g, vec![*d], *n),
        [g, q, d, n] => (*g, vec![*q, *d], *n),
        _ => return false,
    };
    let qualifier_ok = match middle.as_slice() {
        [_] => true,
        [q, _] => {
            *q == "gov"
                || q.strip_prefix("iso").is_some_and(|rest| {
                    rest.len() <= 1 && rest.chars().all(|c| c.is_ascii_lowercase())
                })
        }
        _ => false,
    };
    GEOGRAPHIES.contains(&geography)
        && qualifier_ok
        && middle.last().is_some_and(|d| DIRECTIONS.contains(d))
        && (1..=2).contains(&number.len())
        && !number.starts_with('0')
        && number.chars().all(|c| c.is_ascii_digit())
}

/// Why `region` is no AWS region name, if it is not ([`is_aws_region`]).
pub fn region_problem(region: &str) -> Option<String> {
    (!is_aws_region(region))
        .then(|| format!("'{region}' is not an AWS region name (like us-east-1)"))
}

/// Why `name` breaks S3's bucket naming rules, if it does (general purpose buckets).
pub fn s3_bucket_problem(name: &str) -> Option<String> {
    let len = name.len();
    if !(3..=63).contains(&len) {
        return Some(format!("{len} characters; S3 bucket names have 3 to 63"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
    {
        return Some(format!(
            "{c:?} is not allowed; S3 bucket names use a-z 0-9 . and -"
        ));
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge(name.chars().next()) || !edge(name.chars().last()) {
        return Some("S3 bucket names start and end with a letter or digit".into());
    }
    if name.contains("..") {
        return Some("S3 bucket names have no two adjacent periods".into());
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Some("S3 bucket names are not IP addresses".into());
    }
    let reserved_prefix = ["xn--", "sthree-", "amzn-s3-demo-"]
        .into_iter()
        .find(|p| name.starts_with(p));
    let reserved_suffix = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]
        .into_iter()
        .find(|s| name.ends_with(s));
    if let Some(reserved) = reserved_prefix.or(reserved_suffix) {
        return Some(format!("'{reserved}' is reserved by S3"));
    }
    None
}

/// Why `name` breaks Azure's container naming rules, if it does.
pub fn azure_container_problem(name: &str) -> Option<String> {
    let len = name.len();
    if !(3..=63).contains(&len) {
        return Some(format!(
            "{len} characters; Azure container names have 3 to 63"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "{c:?} is not allowed; Azure container names use a-z 0-9 and -"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
        || name.contains("--")
    {
        return Some(
            "Azure container names start and end with a letter or digit, with no two adjacent hyphens"
                .into(),
        );
    }
    None
}

/// The most index tags a blob takes; vmpush adds one (`sha256`) to the planned ones.
pub const MAX_BLOB_TAGS: usize = 10;

/// Why a blob's planned tags break Azure's index tag rules, if they do: at most
/// [`MAX_BLOB_TAGS`] with vmpush's `sha256`, keys of 1 to 128 and values of at most 256
/// characters of `A-Z a-z 0-9 space + - . / : = _`.
pub fn blob_tags_problem(tags: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    if tags.len() + 1 > MAX_BLOB_TAGS {
        return Some(format!(
            "{} tags and vmpush's sha256; an Azure blob takes at most {MAX_BLOB_TAGS}",
            tags.len()
        ));
    }
    let bad = |s: &str| {
        s.chars()
            .find(|c| !(c.is_ascii_alphanumeric() || " +-./:=_".contains(*c)))
    };
    for (key, value) in tags {
        let value = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !(1..=128).contains(&key.chars().count()) || value.chars().count() > 256 {
            return Some(format!(
                "'{key}': Azure blob tag keys have 1 to 128 characters, values at most 256"
            ));
        }
        if let Some(c) = bad(key).or_else(|| bad(&value)) {
            return Some(format!(
                "'{key}': {c:?} is not allowed; Azure blob tags use A-Z a-z 0-9 space + - . / : = _"
            ));
        }
    }
    None
}

/// The name of the blob an image is uploaded to (cloudimg): its file name without `.xz`.
pub fn blob_name(file_name: &str) -> &str {
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    base.strip_suffix(".xz").unwrap_or(base)
}

/// Why `name` breaks EC2's AMI naming rules, if it does: 3 to 128 characters of
/// `A-Z a-z 0-9 ( ) [ ] space . / - ' @ _`.
pub fn ami_name_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if !(3..=128).contains(&len) {
        return Some(format!("{len} characters; AMI names have 3 to 128"));
    }
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "()[] ./-'@_".contains(*c)))
        .map(|c| {
            format!("{c:?} is not allowed; AMI names use A-Z a-z 0-9 ( ) [ ] space . / - ' @ _")
        })
}

/// The file a plan item's errors name: its image in its staged directory.
fn file_of(item: &PlanItem) -> String {
    format!("{}/{}", item.staged_dir.trim_end_matches('/'), item.source)
}

/// Checks every destination of `plan` with the clouds' rules, then that no AMI name goes to
/// two images in one account and region (publish reuses an AMI by name).
pub fn check_plan(plan: &Plan) -> Result<()> {
    for item in &plan.items {
        let file = file_of(item);
        for d in &item.destinations {
            check_destination(&file, d)?;
        }
    }
    check_unique_names(plan)
}

/// One destination's names and sharing entries.
fn check_destination(file: &str, d: &PlannedDestination) -> Result<()> {
    let field = |what: &str| format!("{}.{}.{what}", d.account, d.destination);
    let fail = |what: &str, problem: String| Err(Error::invalid(file, field(what), problem));
    match d.provider {
        CloudProvider::Aws => {
            // what RegisterImage and RHSM both take
            if !["x86_64", "arm64"].contains(&d.architecture.as_str()) {
                return fail(
                    "architecture",
                    format!("'{}' is not x86_64 or arm64 (aarch64)", d.architecture),
                );
            }
            let region = d.region.as_deref().unwrap_or_default();
            if let Some(problem) = region_problem(region) {
                return fail("region", problem);
            }
            if let Some(problem) = s3_bucket_problem(&d.bucket) {
                return fail("bucket", format!("'{}': {problem}", d.bucket));
            }
        }
        CloudProvider::Azure => {
            if let Some(problem) = azure_container_problem(&d.bucket) {
                return fail("container", format!("'{}': {problem}", d.bucket));
            }
            if let Some(problem) = blob_tags_problem(&d.tags) {
                return fail("tags", problem);
            }
        }
    }
    if let Some(name) = &d.ami_name
        && let Some(problem) = ami_name_problem(name)
    {
        return fail("ami_name", format!("'{name}': {problem}"));
    }
    if let Some(partition) = d.partition.as_deref() {
        sharing::launch_permissions(&d.sharing_accounts, &d.groups, partition)
            .map_err(|e| Error::invalid(file, field("sharing_accounts"), e))?;
        sharing::snapshot_accounts(&d.snapshot_accounts, partition)
            .map_err(|e| Error::invalid(file, field("snapshot_accounts"), e))?;
    }
    Ok(())
}

/// One AMI name is one image in an account and region: two destinations that would give one
/// name to two different images (files of different checksums) fail the plan. The same image
/// may go under one name twice (without billing codes, hourly and access share their AMI).
fn check_unique_names(plan: &Plan) -> Result<()> {
    let mut seen = HashMap::new();
    for item in &plan.items {
        let file = file_of(item);
        for d in &item.destinations {
            let (name, region, what) = match (&d.ami_name, &d.region, d.provider) {
                (Some(name), Some(region), _) => (name.as_str(), region.as_str(), "ami_name"),
                // a blob's name is its file's: one per container and account
                (_, _, CloudProvider::Azure) => (blob_name(&item.name), d.bucket.as_str(), "blob"),
                _ => continue,
            };
            let place = (d.account.as_str(), region, name);
            let image = (file.clone(), item.sha256sum.clone());
            let Some(((other, other_sha), other_destination)) =
                seen.insert(place, (image, d.destination.clone()))
            else {
                continue;
            };
            let same_sum = other_sha.is_some() && other_sha == item.sha256sum;
            if other == file || same_sum {
                continue;
            }
            let also = format!("{other} (destination {other_destination})");
            return Err(Error::invalid(
                &file,
                format!("{}.{}.{what}", d.account, d.destination),
                format!(
                    "'{name}' in {region} is also the name planned for {also}; one name is one image"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_follow_aws_shapes() {
        for good in [
            "us-east-1",
            "ap-southeast-7",
            "us-gov-west-1",
            "cn-northwest-1",
            "us-isob-east-1",
            "eu-isoe-west-1",
            "mx-central-1",
            "il-central-1",
        ] {
            assert!(is_aws_region(good), "{good}");
        }
        for bad in [
            "",
            "../../etc",
            "us-east",
            "us-east-01",
            "US-EAST-1",
            "xx-east-1",
            "us-up-1",
            "us-east-1a",
            "us-gov-gov-west-1",
            "us-east-100",
            "us-east-1\0",
            "us\u{2013}east-1",
        ] {
            assert!(!is_aws_region(bad), "{bad:?}");
        }
    }

    #[test]
    fn bucket_container_and_ami_names_follow_their_clouds() {
        assert_eq!(s3_bucket_problem("redhat-cloudimg-us-east-1"), None);
        assert_eq!(s3_bucket_problem("my.bucket-1"), None);
        for (bad, problem) in [
            ("ab", "2 characters; S3 bucket names have 3 to 63"),
            (
                "redhat-cloudimg-../../etc",
                "'/' is not allowed; S3 bucket names use a-z 0-9 . and -",
            ),
            (
                "Redhat",
                "'R' is not allowed; S3 bucket names use a-z 0-9 . and -",
            ),
            (
                "-bucket",
                "S3 bucket names start and end with a letter or digit",
            ),
            ("a..b", "S3 bucket names have no two adjacent periods"),
            ("192.168.5.4", "S3 bucket names are not IP addresses"),
            ("xn--bucket", "'xn--' is reserved by S3"),
            ("bucket-s3alias", "'-s3alias' is reserved by S3"),
        ] {
            assert_eq!(s3_bucket_problem(bad).as_deref(), Some(problem), "{bad}");
        }
        assert_eq!(azure_container_problem("pubupload"), None);
        assert!(azure_container_problem("pub--upload").is_some());
        assert!(azure_container_problem("pub.upload").is_some());

        assert_eq!(
            ami_name_problem("RHEL-9.4.0_HVM-20240501-x86_64-1-Hourly2-GP3"),
            None
        );
        assert_eq!(ami_name_problem("a (b) [c] 'd'@e/f"), None);
        assert_eq!(
            ami_name_problem(&"x".repeat(305)).as_deref(),
            Some("305 characters; AMI names have 3 to 128")
        );
        assert_eq!(
            ami_name_problem("RHEL\u{1F600}").as_deref(),
            Some("'\u{1F600}' is not allowed; AMI names use A-Z a-z 0-9 ( ) [ ] space . / - ' @ _")
        );
        assert_eq!(
            ami_name_problem("RHEL\0x").as_deref(),
            Some("'\\0' is not allowed; AMI names use A-Z a-z 0-9 ( ) [ ] space . / - ' @ _")
        );
    }

    #[test]
    fn blob_tags_follow_azure_rules() {
        let tags = |pairs: &[(&str, &str)]| -> serde_json::Map<String, serde_json::Value> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                .collect()
        };
        let reference = tags(&[
            ("nvra", "rhel-azure-9.4-1.x86_64"),
            ("name", "rhel-azure"),
            ("version", "9.4"),
            ("release", "1"),
            ("arch", "x86_64"),
            ("buildid", "None"),
        ]);
        assert_eq!(blob_tags_problem(&reference), None);
        let ten: Vec<(String, String)> = (0..10).map(|i| (format!("k{i}"), "v".into())).collect();
        let ten: Vec<(&str, &str)> = ten.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            blob_tags_problem(&tags(&ten)).as_deref(),
            Some("10 tags and vmpush's sha256; an Azure blob takes at most 10")
        );
        assert_eq!(blob_tags_problem(&tags(&ten[..9])), None);
        assert_eq!(
            blob_tags_problem(&tags(&[("team", "cloud@redhat")])).as_deref(),
            Some("'team': '@' is not allowed; Azure blob tags use A-Z a-z 0-9 space + - . / : = _")
        );
        let long = "k".repeat(129);
        assert_eq!(
            blob_tags_problem(&tags(&[(&long, "v")])).as_deref(),
            Some(
                format!(
                    "'{long}': Azure blob tag keys have 1 to 128 characters, values at most 256"
                )
                .as_str()
            )
        );
        assert_eq!(
            blob_name("rhel-azure-9.4-1.x86_64.vhd.xz"),
            "rhel-azure-9.4-1.x86_64.vhd"
        );
        assert_eq!(blob_name("dir/rhel.vhd"), "rhel.vhd");
    }
}
